// Command sbot is a stand-in SSB pub for the tests of ops on this machine's
// engine (the test world has its own, ops/testworld/testpub): `sbot server` keeps an ed25519 identity in $DATA/secret
// and answers on $ssb_port (8008); `sbot whoami` prints {"id":"@…=.ed25519"};
// `sbot invite.create N` prints a JSON-string invite; `sbot fault unhealthy|crash|clear`
// injects faults through $DATA/fault; `sbot cat` copies stdin to stdout and
// `sbot tty` reports the terminal's size (`sbot winch`: and again when it
// changes), for tests of exec.
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
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const dataDir = "/home/node/.ssb"

func main() {
	args := os.Args[1:]
	if len(args) == 0 {
		args = []string{"server"}
	}
	var err error
	switch args[0] {
	case "server":
		err = server()
	case "whoami":
		var id string
		if id, err = ask(); err == nil {
			err = json.NewEncoder(os.Stdout).Encode(map[string]string{"id": id})
		}
	case "invite.create":
		var id string
		if id, err = ask(); err == nil {
			seed := make([]byte, 32)
			_, _ = rand.Read(seed)
			host := os.Getenv("ssb_host")
			if host == "" {
				host = "[::]"
			}
			// Like ssb-server: the address the server thinks it has, which
			// buttctl must replace with the pub's public address.
			err = json.NewEncoder(os.Stdout).Encode(host + ":" + port() + ":" + id + "~" + base64.StdEncoding.EncodeToString(seed))
		}
	case "cat":
		if _, terr := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ); terr == nil {
			fmt.Println("cat: ready")
		}
		_, err = io.Copy(os.Stdout, os.Stdin)
	case "tty":
		err = ttyReport()
	case "winch":
		err = winch()
	case "fault":
		if len(args) != 2 {
			err = errors.New("usage: sbot fault unhealthy|crash|clear")
		} else if args[1] == "clear" {
			err = os.Remove(filepath.Join(dataDir, "fault"))
		} else {
			err = os.WriteFile(filepath.Join(dataDir, "fault"), []byte(args[1]+"\n"), 0o644)
		}
	default:
		err = fmt.Errorf("unknown command %q", args[0])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sbot:", err)
		os.Exit(1)
	}
}

// ttyReport says whether stdin is a terminal, and its size, as the kernel sees it.
// The size may be set just after the start (engines before API 1.42): it
// waits a little for a non-zero one.
func ttyReport() error {
	deadline := time.Now().Add(3 * time.Second)
	for {
		ws, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ)
		if err != nil {
			fmt.Println("notty")
			return nil
		}
		if ws.Col != 0 || time.Now().After(deadline) {
			fmt.Printf("tty %dx%d\n", ws.Col, ws.Row)
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// winch reports the terminal's size, then again once it changes.
func winch() error {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGWINCH)
	if err := ttyReport(); err != nil {
		return err
	}
	first, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ)
	if err != nil {
		return err
	}
	timeout := time.After(30 * time.Second)
	for {
		select {
		case <-sig:
		case <-timeout:
			return errors.New("the size did not change within 30s")
		}
		ws, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ)
		if err != nil {
			return err
		}
		if ws.Col != first.Col || ws.Row != first.Row {
			fmt.Printf("resized %dx%d\n", ws.Col, ws.Row)
			return nil
		}
	}
}

// port is where the server listens: $ssb_port, as ssb-server reads it, else 8008.
func port() string {
	if p := os.Getenv("ssb_port"); p != "" {
		return p
	}
	return "8008"
}

func fault() string {
	b, _ := os.ReadFile(filepath.Join(dataDir, "fault"))
	return strings.TrimSpace(string(b))
}

func identity() (string, error) {
	path := filepath.Join(dataDir, "secret")
	if b, err := os.ReadFile(path); err == nil {
		var s struct{ ID string }
		if err := json.Unmarshal(b, &s); err != nil {
			return "", err
		}
		return s.ID, nil
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	id := "@" + base64.StdEncoding.EncodeToString(pub) + ".ed25519"
	b, _ := json.Marshal(map[string]string{"curve": "ed25519", "public": id[1:], "private": base64.StdEncoding.EncodeToString(priv) + ".ed25519", "id": id})
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", err
	}
	return id, os.WriteFile(path, b, 0o600)
}

func server() error {
	id, err := identity()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", ":"+port())
	if err != nil {
		return err
	}
	fmt.Println("sbot: serving", id, "on :"+port(), "as", os.Getenv("ssb_host"))
	go func() {
		for range time.Tick(100 * time.Millisecond) {
			if fault() == "crash" {
				fmt.Fprintln(os.Stderr, "sbot: crashing on request")
				os.Exit(3)
			}
		}
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			if fault() == "unhealthy" {
				fmt.Fprintln(c, "ERR unhealthy")
				return
			}
			fmt.Fprintln(c, id)
		}()
	}
}

func ask() (string, error) {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+port(), 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "@") {
		return "", errors.New(line)
	}
	return line, nil
}
