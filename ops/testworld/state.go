package testworld

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// State records everything a world started, so that exactly those things
// can be stopped later, by another process if need be (`world down`, `make
// clean-world`, or the next Start after a crash). It is saved after every
// object the world creates.
type State struct {
	ID      string    `json:"id"`
	Dir     string    `json:"dir"`
	Created time.Time `json:"created"`
	// Owner is the process whose end makes the world a leftover; nil for a
	// world started by `world up`, which lives until `world down`.
	Owner *Owner `json:"owner,omitempty"`

	Network      NetworkState `json:"network"`
	User         string       `json:"user"`
	IdentityFile string       `json:"identity_file"`
	KnownHosts   string       `json:"known_hosts"`
	Inventory    string       `json:"inventory"`
	HubImage     string       `json:"hub_image"`
	Hubs         []HubState   `json:"hubs"`
}

// Owner identifies a process beyond its PID (PIDs are reused).
type Owner struct {
	PID       int    `json:"pid"`
	StartTime uint64 `json:"start_time"` // /proc/<pid>/stat field 22
}

// NetworkState is the Docker network the hubs live on.
type NetworkState struct {
	ID      string `json:"id,omitempty"`
	Name    string `json:"name"`
	Subnet  string `json:"subnet,omitempty"`
	Gateway string `json:"gateway,omitempty"`
}

// HubState is one hub: a container with its own dockerd and sshd.
type HubState struct {
	Name        string `json:"name"`
	Address     string `json:"address"`
	Dir         string `json:"dir"`
	Volume      string `json:"volume"`
	ContainerID string `json:"container_id,omitempty"`
	Container   string `json:"container"`
}

const stateFile = "state.json"

// registryDir holds the directories of worlds owned by test processes:
// $BUTTCTL_TESTWORLD_DIR, else <tmp>/buttctl-testworld.
func registryDir() string {
	if d := os.Getenv("BUTTCTL_TESTWORLD_DIR"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "buttctl-testworld")
}

// LoadState reads a state file.
func LoadState(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

// save writes the state atomically.
func (s *State) save() error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(s.Dir, stateFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// currentOwner describes this process.
func currentOwner() *Owner {
	pid := os.Getpid()
	st, _ := processStartTime(pid)
	return &Owner{PID: pid, StartTime: st}
}

// alive reports whether the owning process still runs.
func (o *Owner) alive() bool {
	st, err := processStartTime(o.PID)
	return err == nil && st == o.StartTime
}

func processStartTime(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces and parentheses: skip past its last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 {
		return 0, errors.New("malformed /proc stat")
	}
	return strconv.ParseUint(fields[19], 10, 64) // field 22 overall
}

// CleanLeftovers stops the worlds in the registry whose owning process has
// ended (a crashed or killed test run), by their recorded state. It returns
// the IDs of the worlds it stopped.
func CleanLeftovers(ctx context.Context) ([]string, error) {
	dirs, err := filepath.Glob(filepath.Join(registryDir(), "*", stateFile))
	if err != nil {
		return nil, err
	}
	var stopped []string
	var errs []error
	for _, path := range dirs {
		s, err := LoadState(path)
		if errors.Is(err, os.ErrNotExist) {
			continue // stopped meanwhile by its owner or reaper
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if s.Owner == nil || s.Owner.alive() {
			continue
		}
		if err := StopState(ctx, s); err != nil {
			errs = append(errs, fmt.Errorf("leftover world %s: %w", s.ID, err))
			continue
		}
		stopped = append(stopped, s.ID)
	}
	return stopped, errors.Join(errs...)
}
