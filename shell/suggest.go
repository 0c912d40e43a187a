package shell

import (
	"strings"
	"unicode/utf8"
)

// closest returns the candidate nearest to word, if one is near enough to be
// a likely typo: at most one edit (insertion, deletion, substitution or
// swap of neighbours) for words of up to three characters, two up to eight,
// three for longer ones, and never a complete rewrite ("x" does not suggest "w"). Case is ignored, so "Bob" finds "bob". On a tie the earlier
// candidate wins, so sorted candidates give a stable answer.
func closest(word string, candidates []string) (string, bool) {
	w := strings.ToLower(word)
	n := utf8.RuneCountInString(w)
	limit := 1
	switch {
	case n > 8:
		limit = 3
	case n > 3:
		limit = 2
	}
	limit = min(limit, n-1)
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if c == word {
			continue
		}
		if d := editDistance(w, strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best, best != ""
}

// editDistance is the optimal string alignment distance between a and b,
// counted in runes: Levenshtein plus transposition of two neighbours.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// Three rows suffice: the transposition looks two rows back.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
