package main

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// request and response are the JSON lines exchanged over the unix socket.
type request struct {
	Method string   `json:"method"`
	Args   []string `json:"args,omitempty"`
}

type response struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
}

// pub is a running stand-in server.
type pub struct {
	dir    string
	keys   keys
	host   string
	port   int
	wedged atomic.Bool // whoami fails until the process exits (sbot fault wedge)
}

// crashExitCode is the status the server exits with on an injected crash.
const crashExitCode = 3

func serve(dir string, log io.Writer) error {
	if readFault(dir) == "crash" {
		fmt.Fprintln(log, "sbot: fault file says crash: exiting")
		os.Exit(crashExitCode)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	k, created, err := loadOrCreateSecret(filepath.Join(dir, "secret"))
	if err != nil {
		return err
	}
	port, err := configuredPort()
	if err != nil {
		return err
	}
	p := &pub{dir: dir, keys: k, host: os.Getenv("ssb_host"), port: port}

	sock := socketPath(dir)
	if fi, err := os.Lstat(sock); err == nil && fi.Mode()&os.ModeSocket != 0 {
		os.Remove(sock) // left by a killed server
	}
	ul, err := net.Listen("unix", sock)
	if err != nil {
		return err
	}
	defer os.Remove(sock)
	tl, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return err
	}
	go p.acceptLocal(ul)
	go acceptPeers(tl, log)

	secret := "loaded"
	if created {
		secret = "created"
	}
	fmt.Fprintf(log, "sbot: serving %s on :%d as %s (secret %s; stand-in: accepts and closes TCP connections)\n",
		k.ID, port, p.host, secret)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case s := <-stop:
			fmt.Fprintf(log, "sbot: %v: shutting down\n", s)
			ul.Close()
			tl.Close()
			return nil
		case <-tick.C:
			if readFault(dir) == "crash" {
				fmt.Fprintln(log, "sbot: fault file says crash: exiting")
				os.Remove(sock)
				os.Exit(crashExitCode)
			}
		}
	}
}

func configuredPort() (int, error) {
	s := os.Getenv("ssb_port")
	if s == "" {
		return defaultPort, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("ssb_port=%q is not a TCP port", s)
	}
	return n, nil
}

// acceptPeers stands in for SSB's secret handshake: it logs the peer, reads
// up to one client hello (64 bytes) and hangs up.
func acceptPeers(l net.Listener, log io.Writer) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		fmt.Fprintf(log, "sbot: peer %s connected\n", c.RemoteAddr())
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.ReadFull(c, make([]byte, 64))
		}()
	}
}

func (p *pub) acceptLocal(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

func (p *pub) handle(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		return
	}
	var req request
	var resp response
	var result any
	if err := json.Unmarshal(line, &req); err != nil {
		resp.Error = "bad request: " + err.Error()
	} else if result, err = p.call(req); err != nil {
		resp.Error = err.Error()
	} else {
		resp.Result, _ = json.Marshal(result)
	}
	out, _ := json.Marshal(resp)
	c.Write(append(out, '\n'))
}

func (p *pub) call(req request) (any, error) {
	switch req.Method {
	case "whoami":
		if readFault(p.dir) == "unhealthy" {
			return nil, errors.New("fault injected: unhealthy")
		}
		if p.wedged.Load() {
			return nil, errors.New("fault injected: wedged until restarted")
		}
		return map[string]string{"id": p.keys.ID}, nil
	case "fault.wedge":
		p.wedged.Store(true)
		return "wedged", nil
	case "invite.create":
		if len(req.Args) != 1 {
			return nil, errors.New("invite.create takes one argument: the number of uses")
		}
		uses, err := strconv.Atoi(req.Args[0])
		if err != nil || uses < 1 {
			return nil, fmt.Errorf("invite.create: uses %q must be a whole number of at least 1", req.Args[0])
		}
		return p.createInvite(uses)
	default:
		return nil, fmt.Errorf("no such method %q", req.Method)
	}
}

// createInvite returns "host:port:@id~seed", ssb-invite's legacy format,
// and records the invite in <data dir>/invites.jsonl.
func (p *pub) createInvite(uses int) (string, error) {
	host := strings.TrimSpace(p.host)
	if host == "" {
		return "", errors.New("invite.create: no public host: set ssb_host")
	}
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil && ip.IsUnspecified() {
		return "", fmt.Errorf("invite.create: ssb_host %q is not a public address", host)
	}
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return "", err
	}
	guest := newKeys(ed25519.NewKeyFromSeed(seed))
	rec, _ := json.Marshal(map[string]any{"guest": guest.ID, "uses": uses, "created": time.Now().UTC().Format(time.RFC3339)})
	f, err := os.OpenFile(filepath.Join(p.dir, "invites.jsonl"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.Write(append(rec, '\n')); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s:%d:%s~%s", host, p.port, p.keys.ID, base64.StdEncoding.EncodeToString(seed)), nil
}

func readFault(dir string) string {
	b, err := os.ReadFile(faultPath(dir))
	if err != nil {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(string(b)))
}

// setFault writes or removes the fault file.
func setFault(dir, fault string) error {
	switch fault {
	case "crash", "unhealthy":
		return os.WriteFile(faultPath(dir), []byte(fault+"\n"), 0o644)
	case "clear":
		if err := os.Remove(faultPath(dir)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	default:
		return fmt.Errorf("fault %q: want crash, unhealthy or clear", fault)
	}
}

// clientCall sends req to the running server and prints its result as
// ssb-server's CLI does (pretty JSON).
func clientCall(dir string, req request, stdout io.Writer) error {
	c, err := net.DialTimeout("unix", socketPath(dir), 2*time.Second)
	if err != nil {
		return fmt.Errorf("server not running? %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, _ := json.Marshal(req)
	if _, err := c.Write(append(line, '\n')); err != nil {
		return err
	}
	var resp response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return fmt.Errorf("reading the server's answer: %w", err)
	}
	if resp.Error != "" {
		return errors.New(resp.Error)
	}
	var v any
	if err := json.Unmarshal(resp.Result, &v); err != nil {
		return err
	}
	out, _ := json.MarshalIndent(v, "", "  ")
	_, err = fmt.Fprintln(stdout, string(out))
	return err
}
