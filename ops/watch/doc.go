// Package watch is the kill-and-heal loop of `buttctl watch`: it follows
// every hub's Docker event stream (reconnected with backoff when it drops)
// with a periodic full reconcile as a safety net, kills pubs unhealthy past
// their grace, heals the ones that are down (start, recreate, restore, then
// quarantine) under a per-pub restart policy (Tracker), marks hubs down,
// reboots them through the cloud and re-allocates their pubs elsewhere with
// their identities, and writes every action to a JSON-lines audit log.
//
// It never prints: the command renders what it reports (slog, metrics).
package watch
