// Package hubs observes and acts on hubs through their connections
// (ops/hubconn): facts about each hub (reachability, SSH latency, OS, uptime,
// load, free disk, Docker version) and commands fanned out over many hubs with
// bounded parallelism, a per-hub timeout and Ansible's classification of
// failures (failed: the command ran and failed; unreachable: buttctl could
// not reach the hub).
package hubs

import "sync"

// DefaultParallel is how many hubs are worked on at once unless told otherwise.
const DefaultParallel = 32

// forEach calls fn(i) for i in [0, n), at most parallel at a time, and waits.
func forEach(n, parallel int, fn func(i int)) {
	if parallel <= 0 {
		parallel = DefaultParallel
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i)
		})
	}
	wg.Wait()
}
