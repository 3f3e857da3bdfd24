package inventory

// starter is the inventory `buttctl init` writes: valid as it is, with one
// hub (this machine's Docker engine) and every other section explained in
// comments.
const starter = `# buttctl inventory: the fleet of Scuttlebutt pubs you want.
# Check it with 'buttctl inventory validate'; see it with defaults applied
# with 'buttctl inventory show'. The README documents every key.
version: 1

# cloud: the OpenStack cloud hubs are created on; only 'hub create',
# 'hub delete' and 'hub reboot' need it. name is an entry of your
# clouds.yaml (credentials stay there, never here).
# cloud:
#   name: openstack
#   region: RegionOne
#   server: {flavor: s1-2, image: Debian 12, network: Ext-Net, keypair: buttctl, security_groups: [buttctl-hub]}

# ssh: how buttctl reaches hubs. Unset fields come from ~/.ssh/config.
# host_key_checking: strict (the host must be in known_hosts) or accept-new.
ssh:
  host_key_checking: strict
  # user: debian
  # identity_file: ~/.ssh/id_ed25519
  # jump: admin@bastion.example.org

# defaults: what every pub inherits unless it says otherwise.
defaults:
  image: ahdinosaur/ssb-pub
  port: 8008
  memory: 512m

# hubs: servers running a Docker engine. "local" is this machine's engine,
# reached without SSH.
hubs:
  - name: local
    local: true
  # - name: hub-1
  #   address: 203.0.113.10
  #   capacity: 20

# pubs: SSB servers, each a container on a hub. A name is a DNS label
# (lowercase letters, digits, '-'): containers and volumes are named after it.
pubs: []
  # - name: scuttle-1
  #   hub: local
  #   host: pub1.example.org
  #   state: running

# watch: how 'buttctl watch' kills unhealthy pubs and heals down ones.
# watch:
#   unhealthy_grace: 30s           # unhealthy this long: stopped (SIGTERM, then
#   stop_timeout: 10s              #   SIGKILL after this) and started again
#   backoff: {initial: 1s, max: 5m, reset_after: 10m}
#   crash_loop: {restarts: 5, window: 10m}   # then quarantined, retried every max
#   hub_down_after: 2m
#   reconcile: 1m                  # full look besides Docker's events
#   reboot_hubs: false             # hard-reboot a down hub through the cloud
#   reallocate: false              # recreate a down hub's pubs elsewhere (needs restart: "no")
`

// Starter returns the starter inventory `buttctl init` writes.
func Starter() []byte { return []byte(starter) }
