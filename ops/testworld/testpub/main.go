// Command sbot is buttctl's STAND-IN for a Scuttlebutt pub, the one program
// of the test pub image (built by ops/testworld, used by the test world's hubs
// and, through ops/pubs/pubstest, by the tests on this machine's engine): no
// real SSB server can be built on the test machines (go-ssb is not served by
// the Go module proxy, npm is unreachable).
//
// It follows ahdinosaur/ssb-pub's conventions so that one image profile
// drives both: data in /home/node/.ssb (ssb_path overrides), public host from
// ssb_host, port 8008 (ssb_port overrides), and
//
//	sbot server            run the pub (creates the secret on first start)
//	sbot whoami            print {"id": "@….ed25519"}, asking the running server
//	sbot invite.create N   print "host:port:@….ed25519~seed", asking the running server
//	sbot fault crash|unhealthy|wedge|clear   fault injection for tests
//	sbot cat | tty | winch             for tests of exec (see term.go)
//
// The secret file has ssb-keys' exact format. It is created on the first
// start only: a secret that exists but cannot be read or parsed stops the
// server with an error, and is never replaced (the identity is the pub).
// whoami and invite.create talk to the server over the unix socket
// <data dir>/socket, so they fail when it is down. The server accepts TCP connections on the port and closes each one
// after reading up to 64 bytes (an SHS client hello): it does not speak SHS.
//
// Faults: the file <data dir>/fault holding "unhealthy" makes whoami fail
// while it is there; "crash" makes the server exit with status 3 within
// 100ms (and at once on start, so a restarted pub crash-loops until cleared).
// "wedge" is no file: it tells the running server to fail whoami until it
// exits, as a hung process does, so a restart cures it.
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

const (
	defaultDataDir = "/home/node/.ssb"
	defaultPort    = 8008
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	dir := dataDir()
	var err error
	switch args[0] {
	case "server", "start":
		err = serve(dir, stdout)
	case "whoami":
		err = clientCall(dir, request{Method: "whoami"}, stdout)
	case "invite.create":
		if len(args) != 2 {
			fmt.Fprint(stderr, "usage: sbot invite.create <uses>\n")
			return 2
		}
		err = clientCall(dir, request{Method: "invite.create", Args: []string{args[1]}}, stdout)
	case "fault":
		if len(args) != 2 {
			fmt.Fprint(stderr, "usage: sbot fault crash|unhealthy|wedge|clear\n")
			return 2
		}
		if args[1] == "wedge" {
			err = clientCall(dir, request{Method: "fault.wedge"}, io.Discard)
		} else {
			err = setFault(dir, args[1])
		}
	case "cat":
		err = cat(os.Stdin, stdout)
	case "tty":
		err = ttyReport(stdout)
	case "winch":
		err = winch(stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		// Like ssb-server's CLI, whose unknown methods are errors (exit 1).
		fmt.Fprintf(stderr, "sbot: unknown command %q\n%s", args[0], usage)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "sbot: %v\n", err)
		return 1
	}
	return 0
}

const usage = `usage: sbot <command>   (buttctl's test stand-in for ssb-server)
  server                   run the pub
  whoami                   print the pub's id
  invite.create <uses>     print an invite code
  fault crash|unhealthy|wedge|clear   inject or clear a fault (tests only)
  cat | tty | winch        echo stdin; report the terminal's size (tests of exec)
`

// dataDir is ssb's data directory: $ssb_path, else /home/node/.ssb.
func dataDir() string {
	if p := os.Getenv("ssb_path"); p != "" {
		return p
	}
	return defaultDataDir
}

func socketPath(dir string) string { return filepath.Join(dir, "socket") }
func faultPath(dir string) string  { return filepath.Join(dir, "fault") }
