// Package sshexec reaches hubs over SSH: ssh_config, authentication (agent,
// then identity files), known_hosts checking, one pooled connection per hub
// with keepalives and redial, remote commands with quoted arguments,
// interactive sessions with a PTY, and unix-socket dials through the
// connection (direct-streamlocal@openssh.com) for the hub's Docker socket.
//
// It imports only the standard library, golang.org/x/crypto, golang.org/x/term,
// golang.org/x/sys and github.com/kevinburke/ssh_config.
package sshexec
