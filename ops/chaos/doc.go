// Package chaos is buttctl's chaos soak. On a test world of real hubs
// (ops/testworld: each hub its own sshd and Docker engine) it creates a
// fleet with `buttctl apply`, runs `buttctl watch` with reallocation on, and
// injects faults at random times drawn from a seeded RNG: pubs killed with
// SIGKILL, wedged (failing their health check) or removed behind buttctl's
// back; a hub's engine restarted, its sshd killed, its network cut, the hub
// powered off for longer than hub_down_after; watch itself killed with
// SIGKILL and restarted (as systemd would); `buttctl apply` and inventory
// edits racing watch. At checkpoints and at the end it asserts that every
// pub the inventory wants running runs, healthy, exactly once, with the
// identity it started with; that no data volume was lost; that the
// inventory still parses and carries its comments; and that no pub was
// restarted more often than the backoff policy allows. Report holds what
// happened: faults by kind, time to recover, actions taken, failures.
//
// Cuts and sshd outages are kept shorter than hub_down_after: a hub that is
// unreachable for longer while its pubs keep running is a partition, which
// buttctl cannot fence (README: watch).
package chaos
