package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/cloud"
)

// CreateOptions is what `hub create` asks for. Zero durations take defaults.
type CreateOptions struct {
	Hub            string
	Flavor         string
	Image          string
	Network        string
	Keypair        string
	SecurityGroups []string
	// PublicKey is the local public key (authorized_keys line) the keypair holds.
	PublicKey string
	// SSHUser is the user cloud-init adds to the docker group.
	SSHUser string
	// SSHPort is the port sshd listens on (22 unless the inventory says otherwise).
	SSHPort int
	// Ports are the TCP ports the security group opens besides SSH (the pubs').
	Ports []int
	// KnownHosts is the known_hosts file the verified host keys go to.
	KnownHosts string
	// NoWait returns once the cloud accepted the server.
	NoWait bool

	// HostKeyTimeout bounds the wait for cloud-init to print the host keys.
	HostKeyTimeout time.Duration
	// ReadyTimeout bounds the wait for SSH and the Docker engine.
	ReadyTimeout time.Duration
	// PollInterval is how often the console log is read (default 5s).
	PollInterval time.Duration

	// WaitReady waits until the hub answers over SSH and its Docker engine
	// answers (see Reachability); nil skips the wait.
	WaitReady func(ctx context.Context, hub inventory.Hub) error
	// Record writes the hub to the inventory.
	Record   func(hub inventory.Hub) error
	Progress Progress
	// Audit receives the record of the create (nil: none).
	Audit *audit.Log
}

// Created is what a create made.
type Created struct {
	Hub      inventory.Hub `json:"hub"`
	ServerID string        `json:"server_id"`
	Status   string        `json:"status"`
	// Keypair and SecurityGroups name what this create added to the cloud.
	Keypair        string   `json:"keypair_created,omitempty"`
	SecurityGroups []string `json:"security_groups_created,omitempty"`
	Recorded       bool     `json:"recorded"`
}

// CreateError is a create that failed midway: what went wrong and exactly
// what remains on the cloud.
type CreateError struct {
	Hub      string
	Err      error
	Remains  []string // "server 6f1c... (ACTIVE at 203.0.113.10)", "keypair buttctl"
	Removed  []string // what the failed create cleaned up
	NextStep string
}

func (e *CreateError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hub create %s: %v", e.Hub, e.Err)
	if len(e.Removed) > 0 {
		fmt.Fprintf(&b, "; removed what it made: %s", strings.Join(e.Removed, ", "))
	}
	if len(e.Remains) > 0 {
		fmt.Fprintf(&b, "; left on the cloud: %s", strings.Join(e.Remains, ", "))
	}
	if e.NextStep != "" {
		b.WriteString("; " + e.NextStep)
	}
	return b.String()
}

func (e *CreateError) Unwrap() error { return e.Err }

// Create puts a new hub on the cloud: see CreateOptions. The inventory is
// written only when the hub answers over SSH with its Docker engine up.
func Create(ctx context.Context, c Cloud, o CreateOptions) (made *Created, err error) {
	defer o.Audit.Begin(audit.Record{Action: "hub-create", Hub: o.Hub}).End(&err)
	if o.HostKeyTimeout == 0 {
		o.HostKeyTimeout = 10 * time.Minute
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 10 * time.Minute
	}
	if o.PollInterval == 0 {
		o.PollInterval = 5 * time.Second
	}
	if o.SSHPort == 0 {
		o.SSHPort = 22
	}
	for what, v := range map[string]string{"flavor": o.Flavor, "image": o.Image, "network": o.Network, "keypair": o.Keypair} {
		if v == "" {
			return nil, fmt.Errorf("hub create %s: no %s: set cloud.server.%s in the inventory or pass --%s", o.Hub, what, what, what)
		}
	}
	userData, err := cloud.UserData(o.SSHUser)
	if err != nil {
		return nil, fmt.Errorf("hub create %s: %w", o.Hub, err)
	}
	// Everything that can be refused is checked before anything is made.
	flavorID, err := c.FlavorID(ctx, o.Flavor)
	if err != nil {
		return nil, err
	}
	imageID, err := c.ImageID(ctx, o.Image)
	if err != nil {
		return nil, err
	}
	networkID, err := c.NetworkID(ctx, o.Network)
	if err != nil {
		return nil, err
	}

	made = &Created{Hub: inventory.Hub{Name: o.Hub}}
	var groupIDs []string
	fail := func(err error, serverStatus, address string) (*Created, error) {
		ce := &CreateError{Hub: o.Hub, Err: err}
		// Cleaning up must outlive a cancelled ctx.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		keepServer := serverStatus == cloud.StatusActive
		if made.ServerID != "" && !keepServer {
			if derr := c.Delete(cctx, made.ServerID); derr == nil {
				if werr := c.WaitGone(cctx, made.ServerID, nil); werr == nil {
					ce.Removed = append(ce.Removed, "server "+made.ServerID)
				} else {
					ce.Remains = append(ce.Remains, "server "+made.ServerID+" (deleting: "+werr.Error()+")")
				}
			} else {
				ce.Remains = append(ce.Remains, "server "+made.ServerID+" (delete failed: "+derr.Error()+")")
			}
		}
		if keepServer {
			where := ""
			if address != "" {
				where = " at " + address
			}
			ce.Remains = append(ce.Remains, "server "+made.ServerID+" (ACTIVE"+where+")")
			ce.NextStep = "once it is fixed, record it with 'buttctl hub adopt " + o.Hub + " --server " + made.ServerID + "', or delete it with 'openstack server delete " + made.ServerID + "'"
			for i, g := range made.SecurityGroups {
				ce.Remains = append(ce.Remains, "security group "+g+" ("+groupIDs[i]+")")
			}
			if made.Keypair != "" {
				ce.Remains = append(ce.Remains, "keypair "+made.Keypair)
			}
			return nil, ce
		}
		for i, g := range made.SecurityGroups {
			if derr := c.DeleteSecurityGroup(cctx, groupIDs[i]); derr == nil {
				ce.Removed = append(ce.Removed, "security group "+g)
			} else {
				ce.Remains = append(ce.Remains, "security group "+g+" ("+groupIDs[i]+")")
			}
		}
		if made.Keypair != "" {
			if derr := c.DeleteKeypair(cctx, made.Keypair); derr == nil {
				ce.Removed = append(ce.Removed, "keypair "+made.Keypair)
			} else {
				ce.Remains = append(ce.Remains, "keypair "+made.Keypair)
			}
		}
		return nil, ce
	}

	created, err := c.EnsureKeypair(ctx, o.Keypair, o.PublicKey)
	if err != nil {
		return fail(err, "", "")
	}
	if created {
		made.Keypair = o.Keypair
		o.Progress.emit(o.Hub, "keypair", "done", "created keypair "+o.Keypair)
	}
	ports := append([]int{o.SSHPort}, o.Ports...)
	for _, name := range o.SecurityGroups {
		sg, err := c.EnsureSecurityGroup(ctx, name, ports)
		if sg != nil && sg.Created {
			made.SecurityGroups = append(made.SecurityGroups, name)
			groupIDs = append(groupIDs, sg.ID)
		}
		if err != nil {
			return fail(err, "", "")
		}
		switch {
		case sg.Created:
			o.Progress.emit(o.Hub, "security-group", "done", fmt.Sprintf("created security group %s (tcp %s)", name, joinPorts(ports)))
		case len(sg.Added) > 0:
			o.Progress.emit(o.Hub, "security-group", "done", fmt.Sprintf("opened tcp %s in security group %s", joinPorts(sg.Added), name))
		}
	}
	id, err := c.Boot(ctx, cloud.ServerSpec{
		Name: o.Hub, Hub: o.Hub, FlavorID: flavorID, ImageID: imageID, NetworkID: networkID,
		Keypair: o.Keypair, SecurityGroups: o.SecurityGroups, UserData: userData,
	})
	if err != nil {
		return fail(err, "", "")
	}
	made.ServerID, made.Status = id, cloud.StatusBuild
	o.Progress.emit(o.Hub, "boot", "done", "server "+id+" accepted")
	if o.NoWait {
		return made, nil
	}

	srv, err := c.WaitStatus(ctx, id, cloud.StatusActive, func(s cloud.Server) {
		o.Progress.emit(o.Hub, "status", s.Status, "server "+id+" is "+s.Status)
	})
	if err != nil {
		return fail(err, "", "")
	}
	made.Status = srv.Status
	address := srv.PublicAddress(o.Network)
	if address == "" {
		return fail(fmt.Errorf("server %s is ACTIVE but has no address on network %s", id, o.Network), "", "")
	}
	made.Hub.Address, made.Hub.ServerID = address, id
	o.Progress.emit(o.Hub, "address", "done", "address "+address)

	if err := LearnHostKeys(ctx, c, id, address, o.SSHPort, o.KnownHosts, o.HostKeyTimeout, o.PollInterval, o.Progress, o.Hub); err != nil {
		return fail(err, cloud.StatusActive, address)
	}
	if o.WaitReady != nil {
		rctx, cancel := context.WithTimeout(ctx, o.ReadyTimeout)
		err := o.WaitReady(rctx, made.Hub)
		cancel()
		if err != nil {
			return fail(fmt.Errorf("waiting for SSH and Docker: %w", err), cloud.StatusActive, address)
		}
		o.Progress.emit(o.Hub, "docker", "done", "SSH and the Docker engine answer")
	}
	if o.Record != nil {
		if err := o.Record(made.Hub); err != nil {
			return fail(fmt.Errorf("recording the hub in the inventory: %w", err), cloud.StatusActive, address)
		}
		made.Recorded = true
		o.Progress.emit(o.Hub, "inventory", "done", "recorded in the inventory")
	}
	return made, nil
}

// LearnHostKeys reads the server's SSH host keys from its console log,
// verified against the fingerprints cloud-init printed with them, and
// records them in knownHosts for address:port. It waits up to timeout for
// cloud-init to print them. Nothing else is ever trusted.
func LearnHostKeys(ctx context.Context, c Cloud, id, address string, port int, knownHosts string, timeout, interval time.Duration, p Progress, hub string) error {
	if knownHosts == "" {
		return errors.New("no known_hosts file to record the host keys in: set ssh.known_hosts in the inventory")
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var keysErr error
	err := pollUntil(wctx, interval, func() (bool, error) {
		log, err := c.ConsoleLog(wctx, id, 0)
		if err != nil {
			return false, err
		}
		keys, err := cloud.HostKeysFromConsole(log)
		if errors.Is(err, cloud.ErrNoHostKeys) {
			keysErr = err
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if err := cloud.RecordHostKeys(knownHosts, address, port, keys); err != nil {
			return false, fmt.Errorf("recording host keys in %s: %w", knownHosts, err)
		}
		p.emit(hub, "host-key", "done", fmt.Sprintf("%d host key(s) verified from the console log, recorded in %s", len(keys), knownHosts))
		return true, nil
	})
	if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		why := "the console log shows no SSH host keys"
		if keysErr == nil {
			why = "the console log could not be read"
		}
		return fmt.Errorf("%s after %s, so the host key cannot be verified (cloud-init prints them at first boot; see 'openstack console log show %s')", why, timeout, id)
	}
	return err
}

func joinPorts(ports []int) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = fmt.Sprint(p)
	}
	return strings.Join(s, ",")
}
