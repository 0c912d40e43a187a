package discovery

import "time"

// Browse and announce schedule of one interface (RFC 6762): announce at
// once and again after a second (section 8.3); query at once, then 1, 2,
// 4, ... seconds later, doubling up to once a minute (section 5.2).
const (
	firstInterval = time.Second
	maxInterval   = 60 * time.Second
	// announceCount is how many unsolicited announcements a (re)start
	// sends, announceGap apart.
	announceCount = 2
	announceGap   = time.Second
)

// schedule says when one interface is due for its next query and
// announcement. It is pure: callers pass the time.
type schedule struct {
	nextQuery    time.Time
	interval     time.Duration // until the query after nextQuery
	nextAnnounce time.Time
	announces    int // announcements still to send
}

// newSchedule is the schedule of an interface joined at now: announce and
// query at once.
func newSchedule(now time.Time) schedule {
	return schedule{nextQuery: now, interval: firstInterval, nextAnnounce: now, announces: announceCount}
}

// reannounce restarts the announcements (after the advertised records
// changed, RFC 6762 section 8.4).
func (s *schedule) reannounce(now time.Time) {
	s.nextAnnounce, s.announces = now, announceCount
}

// due reports what is due at now and moves the schedule past it.
func (s *schedule) due(now time.Time) (query, announce bool) {
	if !now.Before(s.nextQuery) {
		query = true
		s.nextQuery = now.Add(s.interval)
		s.interval = min(2*s.interval, maxInterval)
	}
	if s.announces > 0 && !now.Before(s.nextAnnounce) {
		announce = true
		s.announces--
		s.nextAnnounce = now.Add(announceGap)
	}
	return query, announce
}

// next is when something is due next.
func (s *schedule) next() time.Time {
	if s.announces > 0 && s.nextAnnounce.Before(s.nextQuery) {
		return s.nextAnnounce
	}
	return s.nextQuery
}
