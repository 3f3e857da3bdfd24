package cloud

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
)

// HubMetadata is the server metadata key that names the hub a server is.
const HubMetadata = "buttctl.hub"

// Server statuses buttctl cares about (Nova's, plus Missing for a server the
// inventory names and the cloud does not have).
const (
	StatusActive     = "ACTIVE"
	StatusBuild      = "BUILD"
	StatusError      = "ERROR"
	StatusShutoff    = "SHUTOFF"
	StatusReboot     = "REBOOT"
	StatusHardReboot = "HARD_REBOOT"
	StatusMissing    = "missing"
)

// Server is a cloud server as buttctl sees it.
type Server struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Hub       string    `json:"hub,omitempty"` // its buttctl.hub metadata
	Status    string    `json:"status"`
	Flavor    string    `json:"flavor,omitempty"`
	Addresses []Address `json:"addresses,omitempty"`
	Created   time.Time `json:"created"`
	Fault     string    `json:"fault,omitempty"`
}

// Address is one IP address of a server.
type Address struct {
	Network  string `json:"network"`
	IP       string `json:"ip"`
	Floating bool   `json:"floating,omitempty"`
}

// PublicAddress is the address to reach the server at: a floating IPv4, else
// a global IPv4, else any IPv4, else any address; preferring network when it
// is not "".
func (s *Server) PublicAddress(network string) string {
	best, bestRank := "", -1
	for _, a := range s.Addresses {
		ip, err := netip.ParseAddr(a.IP)
		if err != nil {
			continue
		}
		rank := 0
		if ip.Is4() {
			rank += 4
		}
		if ip.IsGlobalUnicast() && !ip.IsPrivate() {
			rank += 2
		}
		if a.Floating {
			rank += 8
		}
		if network != "" && a.Network == network {
			rank += 16
		}
		if rank > bestRank {
			best, bestRank = a.IP, rank
		}
	}
	return best
}

func fromNova(s *servers.Server) Server {
	out := Server{ID: s.ID, Name: s.Name, Hub: s.Metadata[HubMetadata], Status: s.Status, Created: s.Created, Fault: s.Fault.Message}
	if n, ok := s.Flavor["original_name"].(string); ok {
		out.Flavor = n
	} else if id, ok := s.Flavor["id"].(string); ok {
		out.Flavor = id
	}
	nets := make([]string, 0, len(s.Addresses))
	for n := range s.Addresses {
		nets = append(nets, n)
	}
	sort.Strings(nets)
	for _, n := range nets {
		list, _ := s.Addresses[n].([]any)
		for _, item := range list {
			m, _ := item.(map[string]any)
			ip, _ := m["addr"].(string)
			typ, _ := m["OS-EXT-IPS:type"].(string)
			if ip != "" {
				out.Addresses = append(out.Addresses, Address{Network: n, IP: ip, Floating: typ == "floating"})
			}
		}
	}
	return out
}

// ServerSpec is what to boot.
type ServerSpec struct {
	Name           string // server name (the hub's name)
	Hub            string // buttctl.hub metadata
	FlavorID       string
	ImageID        string
	NetworkID      string
	Keypair        string
	SecurityGroups []string
	UserData       []byte
}

// Boot asks the cloud for a server and returns its ID once the API accepted it.
func (c *Cloud) Boot(ctx context.Context, spec ServerSpec) (string, error) {
	opts := servers.CreateOpts{
		Name:           spec.Name,
		FlavorRef:      spec.FlavorID,
		ImageRef:       spec.ImageID,
		SecurityGroups: spec.SecurityGroups,
		UserData:       spec.UserData,
		Metadata:       map[string]string{HubMetadata: spec.Hub},
	}
	if spec.NetworkID != "" {
		opts.Networks = []servers.Network{{UUID: spec.NetworkID}}
	}
	s, err := servers.Create(ctx, c.compute, keypairs.CreateOptsExt{CreateOptsBuilder: opts, KeyName: spec.Keypair}, nil).Extract()
	if err != nil {
		return "", explain(err, "boot server "+quote(spec.Name))
	}
	return s.ID, nil
}

// Server returns the server id.
func (c *Cloud) Server(ctx context.Context, id string) (*Server, error) {
	s, err := servers.Get(ctx, c.compute, id).Extract()
	if err != nil {
		return nil, explain(err, "get server "+id)
	}
	out := fromNova(s)
	return &out, nil
}

// HubServers lists the project's servers that carry buttctl.hub metadata.
func (c *Cloud) HubServers(ctx context.Context) ([]Server, error) {
	pages, err := servers.List(c.compute, servers.ListOpts{}).AllPages(ctx)
	if err != nil {
		return nil, explain(err, "list servers")
	}
	all, err := servers.ExtractServers(pages)
	if err != nil {
		return nil, explain(err, "list servers")
	}
	var out []Server
	for i := range all {
		if _, ok := all[i].Metadata[HubMetadata]; ok {
			out = append(out, fromNova(&all[i]))
		}
	}
	return out, nil
}

// Reboot reboots the server id, hard (power cycle) or soft (ACPI).
func (c *Cloud) Reboot(ctx context.Context, id string, hard bool) error {
	how := servers.SoftReboot
	if hard {
		how = servers.HardReboot
	}
	return explain(servers.Reboot(ctx, c.compute, id, servers.RebootOpts{Type: how}).ExtractErr(), "reboot server "+id)
}

// Delete asks the cloud to delete the server id. A server already gone is no error.
func (c *Cloud) Delete(ctx context.Context, id string) error {
	err := servers.Delete(ctx, c.compute, id).ExtractErr()
	if IsNotFound(err) {
		return nil
	}
	return explain(err, "delete server "+id)
}

// SetHubMetadata sets the server's buttctl.hub metadata (adopt).
func (c *Cloud) SetHubMetadata(ctx context.Context, id, hub string) error {
	_, err := servers.UpdateMetadata(ctx, c.compute, id, servers.MetadataOpts{HubMetadata: hub}).Extract()
	return explain(err, "set metadata of server "+id)
}

// ConsoleLog returns the server's console output (the last lines lines, or all with 0).
func (c *Cloud) ConsoleLog(ctx context.Context, id string, lines int) (string, error) {
	out, err := servers.ShowConsoleOutput(ctx, c.compute, id, servers.ShowConsoleOutputOpts{Length: lines}).Extract()
	return out, explain(err, "get console log of server "+id)
}

// PollInterval is how often Wait* look at a server.
var PollInterval = time.Second

// WaitStatus polls the server until its status is want, calling change on
// every status it sees change (the first one included). ERROR, or the server
// disappearing, ends the wait with an error.
func (c *Cloud) WaitStatus(ctx context.Context, id, want string, change func(Server)) (*Server, error) {
	last := ""
	for {
		s, err := c.Server(ctx, id)
		if err != nil {
			if IsNotFound(err) {
				return nil, fmt.Errorf("server %s disappeared while waiting for %s", id, want)
			}
			return nil, err
		}
		if s.Status != last {
			last = s.Status
			if change != nil {
				change(*s)
			}
		}
		switch {
		case s.Status == want:
			return s, nil
		case s.Status == StatusError:
			msg := s.Fault
			if msg == "" {
				msg = "no fault recorded"
			}
			return s, &Error{Op: "server " + id, Message: "went to ERROR: " + msg, Hint: "see the server's fault with 'openstack server show " + id + "'"}
		}
		if err := sleep(ctx, PollInterval); err != nil {
			return s, fmt.Errorf("server %s still %s: %w", id, s.Status, err)
		}
	}
}

// WaitGone polls until the server id no longer exists.
func (c *Cloud) WaitGone(ctx context.Context, id string, change func(Server)) error {
	last := ""
	for {
		s, err := c.Server(ctx, id)
		if IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if s.Status != last {
			last = s.Status
			if change != nil {
				change(*s)
			}
		}
		if s.Status == StatusError {
			return &Error{Op: "delete server " + id, Message: "the server went to ERROR instead of going away: " + s.Fault, Hint: "retry the delete, or ask the cloud's operator"}
		}
		if err := sleep(ctx, PollInterval); err != nil {
			return fmt.Errorf("server %s still %s: %w", id, s.Status, err)
		}
	}
}
