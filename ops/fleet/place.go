package fleet

import (
	"fmt"
	"strings"

	"github.com/buttctl/buttctl/inventory"
)

// placement is the hub chosen for a pub without one, and why (or why none).
type placement struct {
	hub string
	why string
}

// place chooses a hub for every selected pub the inventory gives none, in
// inventory order. The rules, deterministic for a given inventory and
// snapshot:
//
//  1. only hubs that were observed (reachable) are candidates;
//  2. a hub takes no more pubs than its capacity (0: no limit), counting
//     the pubs placed there and those placed before in this plan;
//  3. a hub takes no pub whose port another pub there already has;
//  4. a pub whose data (container or volume) is on a hub goes back there,
//     keeping its identity, or, if that hub cannot take it, nowhere;
//  5. otherwise the pub goes where the fewest pubs are (spread), the
//     earlier hub in the inventory on a tie.
func place(inv *inventory.Inventory, snap *Snapshot, sel func(string) bool) map[string]placement {
	count := map[string]int{}
	ports := map[string]map[int]bool{}
	for _, h := range inv.Hubs {
		ports[h.Name] = map[int]bool{}
	}
	for _, p := range inv.Pubs {
		if p.Hub != "" {
			count[p.Hub]++
			ports[p.Hub][p.Port] = true
		}
	}
	fits := func(h *Hub, ih inventory.Hub, p inventory.Pub) string {
		switch {
		case h == nil || !h.Reachable:
			return "unreachable"
		case ih.Capacity > 0 && count[ih.Name] >= ih.Capacity:
			return fmt.Sprintf("full (%d/%d)", count[ih.Name], ih.Capacity)
		case ports[ih.Name][p.Port]:
			return fmt.Sprintf("port %d taken", p.Port)
		}
		return ""
	}
	out := map[string]placement{}
	for _, p := range inv.Pubs {
		if p.Hub != "" || !sel(p.Name) {
			continue
		}
		choice := ""
		var why string
		for _, ih := range inv.Hubs {
			h := snap.Hub(ih.Name)
			if h == nil || h.Container(p.Name) == nil && !h.HasVolume(p.Name) {
				continue
			}
			if no := fits(h, ih, p); no != "" {
				why = fmt.Sprintf("its data (and identity) is on hub %s, which cannot take it: %s; make room there, or move it with 'buttctl pub move'", ih.Name, no)
			} else {
				choice, why = ih.Name, "its data (and identity) is there"
			}
			break
		}
		if choice == "" && why == "" {
			var refused []string
			for _, ih := range inv.Hubs {
				h := snap.Hub(ih.Name)
				if no := fits(h, ih, p); no != "" {
					refused = append(refused, ih.Name+" "+no)
					continue
				}
				if choice == "" || count[ih.Name] < count[choice] {
					choice = ih.Name
				}
			}
			if choice != "" {
				why = fmt.Sprintf("fewest pubs (%d)", count[choice])
				if c, _ := inv.Hub(choice); c.Capacity > 0 {
					why = fmt.Sprintf("fewest pubs (%d of %d)", count[choice], c.Capacity)
				}
			} else {
				why = "no hub can take it (" + strings.Join(refused, "; ") + "): add a hub, raise a capacity, or give it a hub"
			}
		}
		out[p.Name] = placement{hub: choice, why: why}
		if choice != "" {
			count[choice]++
			ports[choice][p.Port] = true
		}
	}
	return out
}
