//go:build !unix

package sshexec

import "os"

// notifyWinch does nothing where there is no SIGWINCH.
func notifyWinch(chan<- os.Signal) {}
