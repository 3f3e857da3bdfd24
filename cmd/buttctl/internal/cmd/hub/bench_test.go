package hub

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/hubconn/hubconntest"
	"github.com/buttctl/buttctl/sshexec/sshdtest"
)

// benchHubs is how many sshd instances BenchmarkHubExecAll fans out to.
const benchHubs = 50

// BenchmarkHubExecAll times `buttctl hub exec --all -- uptime` over 50 real
// sshd instances and, in the same run, the same work done by a shell loop of
// ssh, by parallel-ssh -p 32 (Debian's pssh) and by `ansible all -m command
// -a uptime` (default forks), where those are installed. Every tool starts
// cold (new connections); buttctl is also timed warm (pooled connections).
// Ratios are reported as metrics.
func BenchmarkHubExecAll(b *testing.B) {
	// This machine's root ~/.bashrc (pyenv init) costs ~0.2 s of CPU, and bash
	// reads it for every command sshd runs; real hubs each have their own CPU,
	// here 50 hubs share two cores. SHLVL=2 makes bash skip it, for every
	// tool alike, so the benchmark measures fan-out, not one machine's shell.
	fleet := hubconntest.Fleet(b, "hub", benchHubs, sshdtest.WithSetEnv("SHLVL=2"))
	hubList := make([]hubconntest.Hub, len(fleet))
	for i, s := range fleet {
		hubList[i] = hubconntest.Hub{Name: s.Name(), Server: s}
	}
	inv := hubconntest.Inventory(b, hubList...)
	key, known, user := fleet[0].IdentityPath(), fleet[0].KnownHostsPath, fleet[0].User

	buttctl := func(conns *hubconn.Conns, names []string) time.Duration {
		io, _, out, errOut := iostreams.Test()
		opts := &ExecOptions{IO: io, Conns: func() (*hubconn.Conns, error) { return conns, nil },
			Hubs: names, All: len(names) == 0, Argv: []string{"uptime"}, Parallel: 32, Output: output.Table}
		start := time.Now()
		err := execRun(opts)
		d := time.Since(start)
		want := benchHubs
		if len(names) > 0 {
			want = len(names)
		}
		if err != nil || strings.Count(out.String(), "load average") != want {
			b.Fatalf("buttctl hub exec: %v\n%s%s", err, out.String(), errOut.String())
		}
		return d
	}

	var oneCold, oneWarm, allCold, allWarm, loop, pssh, ansible time.Duration
	var psshOK, ansibleOK bool
	for b.Loop() {
		conns := hubconn.New(inv, hubconntest.Options())
		oneCold += buttctl(conns, []string{fleet[0].Name()})
		oneWarm += buttctl(conns, []string{fleet[0].Name()})
		conns.Close()

		conns = hubconn.New(inv, hubconntest.Options())
		allCold += buttctl(conns, nil)
		allWarm += buttctl(conns, nil)
		conns.Close()

		loop += timeShellLoop(b, fleet, key, known, user)
		var d time.Duration
		if d, psshOK = timePSSH(b, fleet, key, known, user); psshOK {
			pssh += d
		}
		if d, ansibleOK = timeAnsible(b, fleet, key, known, user); ansibleOK {
			ansible += d
		}
	}
	n := float64(b.N)
	sec := func(d time.Duration) float64 { return d.Seconds() / n }
	b.ReportMetric(sec(oneCold), "one-hub-cold-s")
	b.ReportMetric(sec(oneWarm), "one-hub-warm-s")
	b.ReportMetric(sec(allCold), "buttctl-cold-s")
	b.ReportMetric(sec(allWarm), "buttctl-warm-s")
	b.ReportMetric(sec(loop), "ssh-loop-s")
	b.ReportMetric(float64(allCold)/float64(oneCold), "buttctl/one-hub")
	b.ReportMetric(float64(allWarm)/float64(oneWarm), "buttctl-warm/one-hub-warm")
	b.ReportMetric(float64(loop)/float64(allCold), "ssh-loop/buttctl")
	if psshOK {
		b.ReportMetric(sec(pssh), "pssh-s")
		b.ReportMetric(float64(pssh)/float64(allCold), "pssh/buttctl")
	}
	if ansibleOK {
		b.ReportMetric(sec(ansible), "ansible-s")
		b.ReportMetric(float64(ansible)/float64(allCold), "ansible/buttctl")
	}
}

// sshArgs are the OpenSSH client options every compared tool uses: the
// fleet's key and known_hosts, no ssh_config, no prompts.
func sshArgs(key, known string) []string {
	return []string{"-F", "/dev/null", "-i", key, "-o", "UserKnownHostsFile=" + known, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"}
}

// timeShellLoop runs `for each hub: ssh hub uptime`, one after the other.
func timeShellLoop(b *testing.B, fleet []*sshdtest.Server, key, known, user string) time.Duration {
	var script strings.Builder
	script.WriteString("set -e\n")
	for _, s := range fleet {
		fmt.Fprintf(&script, "ssh %s -p %d %s@%s uptime\n", strings.Join(sshArgs(key, known), " "), s.Port, user, s.IP)
	}
	out, d, err := timeCommand(exec.Command("bash", "-c", script.String()))
	if err != nil || strings.Count(out, "load average") != len(fleet) {
		b.Fatalf("ssh loop: %v\n%s", err, out)
	}
	return d
}

// timePSSH runs parallel-ssh -p 32 over the fleet; ok is false when pssh is
// not installed.
func timePSSH(b *testing.B, fleet []*sshdtest.Server, key, known, user string) (time.Duration, bool) {
	bin, err := exec.LookPath("parallel-ssh")
	if err != nil {
		b.Log("parallel-ssh is not installed (Debian package pssh): not compared")
		return 0, false
	}
	hosts := filepath.Join(b.TempDir(), "hosts")
	var lines strings.Builder
	for _, s := range fleet {
		fmt.Fprintf(&lines, "%s@%s:%d\n", user, s.IP, s.Port)
	}
	os.WriteFile(hosts, []byte(lines.String()), 0o600)
	args := []string{"-p", "32", "-h", hosts, "-i", "-x", strings.Join(sshArgs(key, known), " "), "uptime"}
	out, d, err := timeCommand(exec.Command(bin, args...))
	if err != nil || strings.Count(out, "load average") != len(fleet) {
		b.Errorf("parallel-ssh: %v\n%s", err, out)
		return 0, false
	}
	return d, true
}

// timeAnsible runs `ansible all -m command -a uptime` with its default forks;
// ok is false when ansible is not installed.
func timeAnsible(b *testing.B, fleet []*sshdtest.Server, key, known, user string) (time.Duration, bool) {
	bin, err := exec.LookPath("ansible")
	if err != nil {
		b.Log("ansible is not installed (Debian package ansible): not compared")
		return 0, false
	}
	dir := b.TempDir()
	// ControlPath sockets need a short directory.
	cp, err := os.MkdirTemp("", "ans")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(cp)
	var inv strings.Builder
	for _, s := range fleet {
		fmt.Fprintf(&inv, "%s ansible_host=%s ansible_port=%d\n", s.Name(), s.IP, s.Port)
	}
	fmt.Fprintf(&inv, "[all:vars]\nansible_user=%s\nansible_ssh_private_key_file=%s\nansible_ssh_common_args='-F /dev/null -o UserKnownHostsFile=%s -o BatchMode=yes'\nansible_python_interpreter=/usr/bin/python3\nansible_remote_tmp=%s\n",
		user, key, known, filepath.Join(dir, "remote"))
	invPath := filepath.Join(dir, "hosts.ini")
	os.WriteFile(invPath, []byte(inv.String()), 0o600)
	cmd := exec.Command(bin, "all", "-i", invPath, "-m", "command", "-a", "uptime")
	cmd.Env = append(os.Environ(), "ANSIBLE_SSH_CONTROL_PATH_DIR="+cp, "ANSIBLE_LOCAL_TEMP="+filepath.Join(dir, "local"), "ANSIBLE_NOCOLOR=1")
	out, d, err := timeCommand(cmd)
	if err != nil || strings.Count(out, "load average") != len(fleet) {
		b.Errorf("ansible: %v\n%s", err, out)
		return 0, false
	}
	return d, true
}

func timeCommand(cmd *exec.Cmd) (string, time.Duration, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	return out.String(), time.Since(start), err
}
