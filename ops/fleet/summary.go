package fleet

import (
	"fmt"
	"strings"
)

// Summary counts a snapshot: the fleet at a glance.
type Summary struct {
	Hubs     int `json:"hubs"`
	HubsUp   int `json:"hubs_up"`
	HubsDown int `json:"hubs_down"`

	Pubs      int `json:"pubs"`
	Running   int `json:"running"`
	Starting  int `json:"starting"`
	Unhealthy int `json:"unhealthy"`
	Stopped   int `json:"stopped"`
	Down      int `json:"down"`
	Missing   int `json:"missing"`
	Unknown   int `json:"unknown"`
	Unplaced  int `json:"unplaced"`
	Drifted   int `json:"drifted"`
	Orphans   int `json:"orphans"`

	// Placed is how many pubs the inventory places on hubs with a capacity;
	// Capacity is those hubs' capacity summed. Hubs without a capacity take
	// any number and count in neither.
	Placed   int `json:"placed"`
	Capacity int `json:"capacity"`
}

// Summary counts the snapshot.
func (s *Snapshot) Summary() Summary {
	var sum Summary
	sum.Hubs = len(s.Hubs)
	for _, h := range s.Hubs {
		if h.Reachable {
			sum.HubsUp++
		} else {
			sum.HubsDown++
		}
		if h.Capacity > 0 {
			sum.Capacity += h.Capacity
			sum.Placed += h.Placed
		}
	}
	sum.Pubs = len(s.Pubs)
	for _, p := range s.Pubs {
		switch p.Status {
		case StatusRunning:
			sum.Running++
		case StatusStarting:
			sum.Starting++
		case StatusUnhealthy:
			sum.Unhealthy++
		case StatusStopped:
			sum.Stopped++
		case StatusDown:
			sum.Down++
		case StatusMissing:
			sum.Missing++
		case StatusUnknown:
			sum.Unknown++
		case StatusUnplaced:
			sum.Unplaced++
		}
		if p.Drift {
			sum.Drifted++
		}
	}
	sum.Orphans = len(s.Orphans)
	return sum
}

// Healthy reports whether every hub answered and every pub is as the
// inventory asks: running and healthy, or stopped.
func (sum Summary) Healthy() bool {
	return sum.HubsDown == 0 && sum.Running+sum.Stopped == sum.Pubs
}

// String is the summary as one line of key=value pairs (logfmt), for
// people and scripts alike.
func (sum Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hubs=%d hubs_up=%d hubs_down=%d", sum.Hubs, sum.HubsUp, sum.HubsDown)
	fmt.Fprintf(&b, " pubs=%d running=%d starting=%d unhealthy=%d stopped=%d down=%d missing=%d unknown=%d unplaced=%d",
		sum.Pubs, sum.Running, sum.Starting, sum.Unhealthy, sum.Stopped, sum.Down, sum.Missing, sum.Unknown, sum.Unplaced)
	fmt.Fprintf(&b, " drifted=%d orphans=%d placed=%d capacity=%d", sum.Drifted, sum.Orphans, sum.Placed, sum.Capacity)
	return b.String()
}
