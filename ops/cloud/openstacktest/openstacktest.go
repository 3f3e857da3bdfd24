// Package openstacktest runs buttctl's cloud tests against a real, small
// OpenStack on loopback: Debian 12's Keystone, Glance, Placement, Nova (fake
// virt driver) and Neutron, installed, configured and started by
// openstack.sh beside this file, and stopped when the tests end.
package openstacktest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Environment variables.
const (
	// EnvDir is set (by `openstack.sh run`) to the state dir of running services.
	EnvDir = "BUTTCTL_OPENSTACK"
	// EnvSkip=1 opts out: the tests skip instead of starting OpenStack. CI never sets it.
	EnvSkip = "BUTTCTL_SKIP_OPENSTACK"
)

// Script is the path of openstack.sh.
func Script() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "openstack.sh")
}

// Main runs a test binary's tests against the test cloud. When the services
// are not running yet, it runs the binary again under `openstack.sh run`,
// which takes a machine-wide lock, installs and starts the services, and
// stops exactly what it started when the tests end. A failure to install or
// start fails the run loudly; only BUTTCTL_SKIP_OPENSTACK=1 turns it into skips.
func Main(m *testing.M) {
	if os.Getenv(EnvDir) != "" || os.Getenv(EnvSkip) == "1" {
		os.Exit(m.Run())
	}
	cmd := exec.Command("bash", append([]string{Script(), "run", "--", os.Args[0]}, os.Args[1:]...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			fmt.Fprintf(os.Stderr, "FAIL: the OpenStack test services or the tests under them failed (exit %d); set %s=1 to skip the cloud tests\n", ee.ExitCode(), EnvSkip)
			os.Exit(ee.ExitCode())
		}
		fmt.Fprintf(os.Stderr, "FAIL: cannot run %s: %v\n", Script(), err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Env describes the running test cloud.
type Env struct {
	Dir        string // state dir
	CloudsFile string // clouds.yaml with entries "buttctl" (project user) and "buttctl-admin"
	AuthURL    string
	Region     string
	ProjectID  string // the "buttctl" project
	Image      string // image name
	Flavor     string // flavor name
	Network    string // shared network name (a loopback subnet, DHCP off)
	NetworkID  string
}

// Cloud entries of CloudsFile.
const (
	UserCloud  = "buttctl"
	AdminCloud = "buttctl-admin"
)

// Require returns the running test cloud, or skips the test when
// BUTTCTL_SKIP_OPENSTACK=1 (and fails it when the services are missing).
func Require(t testing.TB) *Env {
	t.Helper()
	dir := os.Getenv(EnvDir)
	if dir == "" {
		if os.Getenv(EnvSkip) == "1" {
			t.Skip(EnvSkip + "=1: the OpenStack tests are skipped")
		}
		t.Fatalf("%s is not set: run these tests with go test (TestMain starts OpenStack) or under %s run", EnvDir, Script())
	}
	f, err := os.Open(filepath.Join(dir, "env"))
	if err != nil {
		t.Fatalf("the test cloud's env file: %v", err)
	}
	defer f.Close()
	kv := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			kv[k] = v
		}
	}
	return &Env{
		Dir: dir, CloudsFile: filepath.Join(dir, "clouds.yaml"),
		AuthURL: kv["AUTH_URL"], Region: kv["REGION"], ProjectID: kv["PROJECT_ID"],
		Image: kv["IMAGE"], Flavor: kv["FLAVOR"], Network: kv["NETWORK"], NetworkID: kv["NETWORK_ID"],
	}
}

// Password returns the password of a clouds.yaml entry, from secure.yaml.
func (e *Env) Password(t testing.TB, entry string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(e.Dir, "secure.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	in := false
	for _, l := range strings.Split(string(data), "\n") {
		s := strings.TrimSpace(l)
		if s == entry+":" {
			in = true
		}
		if in && strings.HasPrefix(s, "password: ") {
			return strings.TrimPrefix(s, "password: ")
		}
	}
	t.Fatalf("no password for %s in secure.yaml", entry)
	return ""
}
