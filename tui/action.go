package tui

import (
	"github.com/buttctl/buttctl/inventory"
)

// actionKind names what an action does.
type actionKind string

// Actions the console carries out.
const (
	actRestart   actionKind = "restart"
	actStart     actionKind = "start"
	actStop      actionKind = "stop"
	actKill      actionKind = "kill"
	actCreate    actionKind = "create"  // a pub's container, from the inventory
	actDelete    actionKind = "delete"  // a pub: its container, and from the inventory
	actNewPub    actionKind = "new pub" // add to the inventory, then create
	actNewHub    actionKind = "new hub" // add to the inventory
	actDeleteHub actionKind = "delete hub"
	actReboot    actionKind = "reboot"
	actMove      actionKind = "move"
	actBackup    actionKind = "backup"
	actApply     actionKind = "apply"
	actInvite    actionKind = "invite"
)

// action is something a dialog or a key asks the root model to carry out.
// Every action changes the fleet or the inventory: --read-only refuses them all.
type action struct {
	kind   actionKind
	pub    string
	hub    string
	to     string // move: the destination hub
	newPub inventory.Pub
	newHub inventory.Hub
	// onCloud: a new hub is a server booted on the cloud, not one added by hand.
	onCloud bool
}

// object names what the action is about: "pub scuttle-1".
func (a action) object() string {
	switch a.kind {
	case actNewHub, actDeleteHub, actReboot:
		return "hub " + a.hub
	case actApply:
		return "the plan"
	}
	return "pub " + a.pub
}

// verbing is the action under way, for a row's note: "restarting".
func (a action) verbing() string {
	switch a.kind {
	case actRestart:
		return "restarting"
	case actStart:
		return "starting"
	case actStop:
		return "stopping"
	case actKill:
		return "killing"
	case actCreate, actNewPub:
		return "creating"
	case actDelete, actDeleteHub:
		return "deleting"
	case actNewHub:
		return "adding"
	case actReboot:
		return "rebooting"
	case actMove:
		return "moving to " + a.to
	case actBackup:
		return "backing up"
	case actApply:
		return "applying"
	case actInvite:
		return "inviting"
	}
	return string(a.kind)
}
