package pubs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/sshexec/sshdtest"
)

// BenchmarkWhoamiLocalVsSSH measures one whoami (a Docker exec: create,
// attach, inspect) through the local socket and through a real sshd's
// streamlocal forwarding to the same engine, over one pooled connection.
func BenchmarkWhoamiLocalVsSSH(b *testing.B) {
	needDocker(b)
	srv := sshdtest.Start(b)
	pub := uniq("pb-who")
	port := freePort(b)
	local := service(b, localInventory(b, fmt.Sprintf("  - {name: %s, hub: local, port: %d}\n", pub, port)))
	remote := service(b, sshInventory(b, srv, fmt.Sprintf("  - {name: %s, hub: remote, port: %d}\n", pub, port)))
	ctx := context.Background()
	if _, err := local.Create(ctx, pub); err != nil {
		b.Fatal(err)
	}
	waitFor(b, "whoami", func() bool { _, err := local.Whoami(ctx, pub); return err == nil })
	const n = 20
	measure := func(s *pubs.Service) time.Duration {
		if _, err := s.Whoami(ctx, pub); err != nil { // connect and negotiate first
			b.Fatal(err)
		}
		start := time.Now()
		for range n {
			if _, err := s.Whoami(ctx, pub); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start) / n
	}
	for b.Loop() {
		l, r := measure(local), measure(remote)
		b.ReportMetric(float64(l.Microseconds())/1000, "ms/whoami-local")
		b.ReportMetric(float64(r.Microseconds())/1000, "ms/whoami-ssh")
		b.ReportMetric(float64(r)/float64(l), "ssh/local")
	}
}

// BenchmarkListWithHungHubs lists four hubs (four real sshds in front of
// this machine's engine), three of them hung (their sshd processes stopped),
// each listing bounded by a 300ms deadline: all hubs at once, as List does,
// against one hub after the other. On loopback there is no latency to hide,
// so hung hubs are what shows the fan-out.
func BenchmarkListWithHungHubs(b *testing.B) {
	needDocker(b)
	key := sshdtest.NewKey(b, b.TempDir(), "id_ed25519", "")
	var servers []*sshdtest.Server
	hubsYAML := ""
	for i := range 4 {
		opts := []sshdtest.Option{sshdtest.WithUserKey(key)}
		if i > 0 {
			opts = append(opts, sshdtest.WithKnownHosts(servers[0].KnownHostsPath))
		}
		srv := sshdtest.Start(b, opts...)
		servers = append(servers, srv)
		hubsYAML += fmt.Sprintf("  - {name: hub-%d, address: %s, port: %d, user: %s}\n", i, srv.IP, srv.Port, srv.User)
	}
	inv := parseInventory(b, fmt.Sprintf("ssh: {identity_file: %s, known_hosts: %s, config: none}\n", servers[0].IdentityPath(), servers[0].KnownHostsPath), hubsYAML, "")
	s := service(b, inv)
	names := []string{"hub-0", "hub-1", "hub-2", "hub-3"}
	if _, errs := s.List(context.Background(), pubs.ListOptions{}); len(errs) > 0 { // connect everything first
		b.Fatal(errs)
	}
	for _, srv := range servers[1:] {
		defer srv.SuspendConnections()()
	}
	list := func(hubs []string) []pubs.HubError {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, errs := s.List(ctx, pubs.ListOptions{Hubs: hubs})
		return errs
	}
	for b.Loop() {
		start := time.Now()
		if errs := list(names); len(errs) != 3 || errs[0].Hub != "hub-1" {
			b.Fatalf("want hubs 1-3 to fail: %v", errs)
		}
		concurrent := time.Since(start)
		start = time.Now()
		for _, h := range names {
			list([]string{h})
		}
		sequential := time.Since(start)
		b.ReportMetric(float64(concurrent.Milliseconds()), "ms/list-concurrent")
		b.ReportMetric(float64(sequential.Milliseconds()), "ms/list-sequential")
		b.ReportMetric(float64(sequential)/float64(concurrent), "sequential/concurrent")
	}
}
