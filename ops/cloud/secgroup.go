package cloud

import (
	"context"
	"fmt"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
)

// SecurityGroup is what EnsureSecurityGroup found or made.
type SecurityGroup struct {
	ID      string
	Name    string
	Created bool  // the group did not exist
	Added   []int // TCP ports whose rules were added
}

// EnsureSecurityGroup makes sure a security group named name exists in the
// project and lets TCP ports in from anywhere, over IPv4 and IPv6. Rules are
// only added, never removed.
func (c *Cloud) EnsureSecurityGroup(ctx context.Context, name string, ports []int) (*SecurityGroup, error) {
	pages, err := groups.List(c.network, groups.ListOpts{Name: name, ProjectID: c.ProjectID()}).AllPages(ctx)
	if err != nil {
		return nil, explain(err, "list security groups")
	}
	found, err := groups.ExtractGroups(pages)
	if err != nil {
		return nil, explain(err, "list security groups")
	}
	sg := &SecurityGroup{Name: name}
	var existing []rules.SecGroupRule
	switch len(found) {
	case 0:
		g, err := groups.Create(ctx, c.network, groups.CreateOpts{Name: name, Description: "buttctl hubs: SSH and pub ports"}).Extract()
		if err != nil {
			return nil, explain(err, "create security group "+quote(name))
		}
		sg.ID, sg.Created, existing = g.ID, true, g.Rules
	case 1:
		sg.ID, existing = found[0].ID, found[0].Rules
	default:
		return nil, &Error{Op: "security group " + quote(name), Message: fmt.Sprintf("%d security groups are named %q in this project", len(found), name), Hint: "delete the extra ones or choose another name with --security-group"}
	}
	for _, port := range ports {
		added := false
		for _, ether := range []rules.RuleEtherType{rules.EtherType4, rules.EtherType6} {
			if hasIngressRule(existing, ether, port) {
				continue
			}
			_, err := rules.Create(ctx, c.network, rules.CreateOpts{
				Direction: rules.DirIngress, EtherType: ether, SecGroupID: sg.ID,
				Protocol: rules.ProtocolTCP, PortRangeMin: port, PortRangeMax: port,
				Description: "buttctl",
			}).Extract()
			if err != nil {
				return sg, explain(err, fmt.Sprintf("add rule tcp/%d to security group %q", port, name))
			}
			added = true
		}
		if added {
			sg.Added = append(sg.Added, port)
		}
	}
	return sg, nil
}

func hasIngressRule(rs []rules.SecGroupRule, ether rules.RuleEtherType, port int) bool {
	for _, r := range rs {
		if r.Direction != string(rules.DirIngress) || r.EtherType != string(ether) {
			continue
		}
		fromAnywhere := r.RemoteGroupID == "" && (r.RemoteIPPrefix == "" || r.RemoteIPPrefix == "0.0.0.0/0" || r.RemoteIPPrefix == "::/0")
		anyProto := r.Protocol == "" || r.Protocol == "any"
		tcpPort := r.Protocol == string(rules.ProtocolTCP) && (r.PortRangeMin == 0 || r.PortRangeMin <= port && port <= r.PortRangeMax)
		if fromAnywhere && (anyProto || tcpPort) {
			return true
		}
	}
	return false
}

// DeleteSecurityGroup deletes the security group id.
func (c *Cloud) DeleteSecurityGroup(ctx context.Context, id string) error {
	return explain(groups.Delete(ctx, c.network, id).ExtractErr(), "delete security group "+id)
}
