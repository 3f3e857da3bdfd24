// Package identity keeps pubs' identities safe: the local identity store
// (a copy of each pub's secret file, 0600 in a 0700 directory), the backup
// file format (a gzip tar: manifest.json, then the data directory under
// data/), and the operations that carry an identity from one place to
// another and check it arrived: Backup, Restore, Move (journaled, settled
// after an interruption by Settle), and Scan, which finds every copy of
// every identity in the fleet so that no identity ever runs twice.
//
// Secrets travel only between engines, this package and files of mode 0600;
// errors and results carry public ids and sha256 sums, never a secret.
package identity
