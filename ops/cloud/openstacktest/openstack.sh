#!/usr/bin/env bash
# openstack.sh — a real, small OpenStack on loopback for buttctl's cloud tests.
#
# Debian 12's own packages: Keystone, Glance, Placement, Nova (api, conductor,
# scheduler, compute with the fake virt driver: no hypervisor), Neutron (server
# only, ML2 with neutron's own "test" mechanism driver so ports bind without
# agents), RabbitMQ, MariaDB (unix socket only). No systemd: every service is started by hand, in
# its own process group, and its PID recorded; `stop` ends exactly those.
#
#   openstack.sh install        apt-get the packages (idempotent; no service is started by dpkg)
#   openstack.sh start          configure a fresh state dir, start everything, bootstrap
#   openstack.sh stop           end the processes `start` recorded
#   openstack.sh status         is it up? (exit 0 when keystone answers)
#   openstack.sh run -- CMD...  under an exclusive lock: start (unless running),
#                               run CMD with BUTTCTL_OPENSTACK set to the state
#                               dir, stop what this run started (and remove
#                               its state dir if CMD passed)
#
# Environment: BUTTCTL_OPENSTACK_DIR (state dir, default /dev/shm/buttctl-openstack),
# BUTTCTL_OPENSTACK_ADDR (loopback address the services listen on, default 127.0.83.1).
# The state dir gets clouds.yaml + secure.yaml (entries "buttctl" for the
# project user and "buttctl-admin"), env (facts for the tests), log/, pids.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
# On tmpfs: the databases' schema migrations are twice as fast there as on disk.
S=${BUTTCTL_OPENSTACK_DIR:-/dev/shm/buttctl-openstack}
ADDR=${BUTTCTL_OPENSTACK_ADDR:-127.0.83.1}
LOCK=${BUTTCTL_OPENSTACK_LOCK:-/tmp/buttctl-openstack.lock}
REGION=RegionOne
# The compute host's name selects how neutron's "test" mechanism driver binds
# ports: this one binds them as OVS ports, filtered, ACTIVE.
COMPUTE_HOST=host-ovs-filter-active
# Debian's interpreter, whatever python3 comes first on PATH.
PY=/usr/bin/python3

DEBS=(keystone glance placement-api nova-api nova-conductor nova-scheduler python3-nova
	neutron-server rabbitmq-server python3-openstackclient
	uwsgi-plugin-python3 mariadb-server python3-pymysql curl)

log() { printf 'openstack.sh: %s\n' "$*" >&2; }
die() { log "$*"; [ -n "${STARTING:-}" ] && cmd_stop; exit 1; }

cmd_install() {
	local missing=() p
	for p in "${DEBS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || die "installing ${missing[*]} needs root (apt-get)"
	log "installing ${missing[*]}"
	# Package scripts must not try to start services (there is no init system
	# here): policy-rc.d exit 101 tells invoke-rc.d "not allowed".
	local made_policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		made_policy=1
	fi
	local rc=0
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >"/tmp/buttctl-openstack-apt.log" 2>&1; then
		apt-get update -qq >>"/tmp/buttctl-openstack-apt.log" 2>&1 || true
		apt-get install -y -q --no-install-recommends "${missing[@]}" >>"/tmp/buttctl-openstack-apt.log" 2>&1 || rc=$?
	fi
	[ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
	[ $rc = 0 ] || die "apt-get install failed (exit $rc): see /tmp/buttctl-openstack-apt.log"
}

# --- process bookkeeping -----------------------------------------------------

# spawn NAME CMD...: start CMD in its own session (so its process group is its
# own), output to log/NAME.log, and record NAME PID in $S/pids.
spawn() {
	local name=$1; shift
	setsid "$@" >>"$S/log/$name.log" 2>&1 </dev/null 9>&- &
	echo "$name $!" >>"$S/pids"
}

cmd_stop() {
	[ -f "$S/pids" ] || { log "nothing recorded in $S/pids"; return 0; }
	local name pid alive
	# Reverse order: consumers before rabbitmq and keystone.
	tac "$S/pids" | while read -r name pid; do
		kill -TERM -- "-$pid" 2>/dev/null || true
	done
	for _ in $(seq 1 100); do
		alive=""
		while read -r name pid; do
			kill -0 -- "-$pid" 2>/dev/null && alive="$alive $name"
		done <"$S/pids"
		[ -z "$alive" ] && break
		sleep 0.1
	done
	while read -r name pid; do
		kill -KILL -- "-$pid" 2>/dev/null && log "killed $name ($pid) after TERM"
	done <"$S/pids"
	rm -f "$S/pids"
	log "stopped"
}

# wait_http NAME URL SECONDS: poll until URL answers with any HTTP status.
wait_http() {
	local name=$1 url=$2 secs=$3 i
	for i in $(seq 1 $((secs * 5))); do
		curl -s -o /dev/null --max-time 2 "$url" && return 0
		pid_alive "$name" || die "$name exited: see $S/log/$name.log: $(tail -3 "$S/log/$name.log" | tr '\n' ' ')"
		sleep 0.2
	done
	die "$name did not answer at $url within ${secs}s: see $S/log/$name.log"
}

pid_alive() {
	local pid
	pid=$(awk -v n="$1" '$1 == n {print $2}' "$S/pids")
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# --- configuration ------------------------------------------------------------

db() { echo "mysql+pymysql://root@/$1?unix_socket=$S/mysql.sock&charset=utf8"; }

authtoken() { # authtoken USER: a [keystone_authtoken]-style section body
	cat <<EOT
www_authenticate_uri = http://$ADDR:5000/v3
auth_url = http://$ADDR:5000/v3
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $1
password = $SERVICE_PASSWORD
region_name = $REGION
EOT
}

write_configs() {
	mkdir -p "$S"/{etc,log,lock,images,nova,neutron,fernet-keys,credential-keys}
	chmod 700 "$S"
	local TRANSPORT="rabbit://guest:guest@$ADDR:5672/"

	cat >"$S/etc/keystone.conf" <<EOT
[DEFAULT]
log_file = $S/log/keystone-app.log
[database]
connection = $(db keystone)
[token]
provider = fernet
expiration = 3600
[fernet_tokens]
key_repository = $S/fernet-keys
[credential]
key_repository = $S/credential-keys
EOT

	mkdir -p "$S/etc/placement"
	cat >"$S/etc/placement/placement.conf" <<EOT
[DEFAULT]
log_file = $S/log/placement-app.log
[placement_database]
connection = $(db placement)
[api]
auth_strategy = keystone
[keystone_authtoken]
$(authtoken placement)
EOT

	cat >"$S/etc/glance-api.conf" <<EOT
[DEFAULT]
bind_host = $ADDR
bind_port = 9292
workers = 1
log_file = $S/log/glance-app.log
enabled_backends = file:file
[database]
connection = $(db glance)
[glance_store]
default_backend = file
[file]
filesystem_store_datadir = $S/images
[os_glance_staging_store]
filesystem_store_datadir = $S/images/staging
[os_glance_tasks_store]
filesystem_store_datadir = $S/images/tasks
[paste_deploy]
flavor = keystone
config_file = /etc/glance/glance-api-paste.ini
[keystone_authtoken]
$(authtoken glance)
[oslo_concurrency]
lock_path = $S/lock
EOT

	cat >"$S/etc/nova.conf" <<EOT
[DEFAULT]
host = $COMPUTE_HOST
my_ip = $ADDR
state_path = $S/nova
log_file = $S/log/nova-app.log
transport_url = $TRANSPORT
compute_driver = fake.FakeDriver
enabled_apis = osapi_compute
osapi_compute_listen = $ADDR
osapi_compute_listen_port = 8774
osapi_compute_workers = 1
vif_plugging_is_fatal = false
vif_plugging_timeout = 0
instance_name_template = instance-%08x
# Periodic tasks (host discovery among them) start at once, not up to 60s late.
periodic_fuzzy_delay = 0
[api]
auth_strategy = keystone
[wsgi]
api_paste_config = /etc/nova/api-paste.ini
[api_database]
connection = $(db nova_api)
[database]
connection = $(db nova)
[conductor]
workers = 1
[scheduler]
workers = 1
discover_hosts_in_cells_interval = 2
[filter_scheduler]
enabled_filters = ComputeFilter
[keystone_authtoken]
$(authtoken nova)
# Nova validates every token: a revoked token stops working at once (the
# token renewal test relies on it). The other services cache validations.
token_cache_time = -1
[service_user]
send_service_user_token = false
[placement]
auth_type = password
auth_url = http://$ADDR:5000/v3
project_domain_name = Default
user_domain_name = Default
project_name = service
username = placement
password = $SERVICE_PASSWORD
region_name = $REGION
[neutron]
auth_type = password
auth_url = http://$ADDR:5000/v3
project_domain_name = Default
user_domain_name = Default
project_name = service
username = neutron
password = $SERVICE_PASSWORD
region_name = $REGION
[glance]
region_name = $REGION
[cinder]
os_region_name = $REGION
[vnc]
enabled = false
[oslo_concurrency]
lock_path = $S/lock
[oslo_messaging_notifications]
driver = noop
EOT

	cat >"$S/etc/neutron.conf" <<EOT
[DEFAULT]
bind_host = $ADDR
bind_port = 9696
core_plugin = ml2
service_plugins =
auth_strategy = keystone
api_workers = 1
rpc_workers = 0
rpc_state_report_workers = 0
transport_url = $TRANSPORT
state_path = $S/neutron
log_file = $S/log/neutron-app.log
notify_nova_on_port_status_changes = true
notify_nova_on_port_data_changes = true
dhcp_agent_notification = false
[database]
connection = $(db neutron)
[keystone_authtoken]
$(authtoken neutron)
[nova]
auth_type = password
auth_url = http://$ADDR:5000/v3
project_domain_name = Default
user_domain_name = Default
project_name = service
username = nova
password = $SERVICE_PASSWORD
region_name = $REGION
[oslo_concurrency]
lock_path = $S/lock
[ml2]
type_drivers = local,flat
tenant_network_types = local
mechanism_drivers = test
extension_drivers = port_security
[securitygroup]
enable_security_group = true
[oslo_messaging_notifications]
driver = noop
EOT
}

# --- start --------------------------------------------------------------------

start_rabbitmq() {
	mkdir -p "$S/rabbitmq"
	export HOME_RABBIT="$S/rabbitmq"
	# epmd in the foreground, ours, so erl finds it instead of daemonizing one.
	spawn epmd epmd -address "$ADDR" -port 4371
	for _ in $(seq 1 50); do (echo >"/dev/tcp/$ADDR/4371") 2>/dev/null && break; sleep 0.1; done
	printf '%s' "buttctl-openstack-test-cookie" >"$S/rabbitmq/.erlang.cookie"
	chmod 600 "$S/rabbitmq/.erlang.cookie"
	HOME="$S/rabbitmq" ERL_EPMD_ADDRESS="$ADDR" ERL_EPMD_PORT=4371 \
		RABBITMQ_NODENAME=buttctl@localhost RABBITMQ_NODE_IP_ADDRESS="$ADDR" RABBITMQ_NODE_PORT=5672 \
		RABBITMQ_DIST_PORT=25673 RABBITMQ_MNESIA_BASE="$S/rabbitmq/mnesia" RABBITMQ_LOG_BASE="$S/log" \
		RABBITMQ_LOGS="$S/log/rabbit.log" RABBITMQ_ENABLED_PLUGINS_FILE="$S/rabbitmq/enabled_plugins" \
		RABBITMQ_CONFIG_FILE="$S/rabbitmq/rabbitmq" RABBITMQ_PID_FILE="$S/rabbitmq/pid" \
		spawn rabbitmq /usr/lib/rabbitmq/bin/rabbitmq-server
}

start_mariadb() {
	mariadb-install-db --no-defaults --datadir="$S/mysql" --auth-root-authentication-method=normal \
		--skip-test-db --user=root >>"$S/log/setup.log" 2>&1
	spawn mariadb mariadbd --no-defaults --datadir="$S/mysql" --socket="$S/mysql.sock" --skip-networking \
		--pid-file="$S/mysql.pid" --user=root --innodb-flush-method=fsync --innodb-flush-log-at-trx-commit=0 \
		--innodb-buffer-pool-size=256M --max-connections=500 --skip-name-resolve --character-set-server=utf8mb3
	for _ in $(seq 1 150); do
		mariadb --no-defaults --socket="$S/mysql.sock" -uroot -e 'select 1' >/dev/null 2>&1 && break
		pid_alive mariadb || die "mariadb exited: see $S/log/mariadb.log"
		sleep 0.2
	done
	local d
	for d in keystone glance placement neutron nova_api nova nova_cell0; do
		echo "CREATE DATABASE $d;"
	done | mariadb --no-defaults --socket="$S/mysql.sock" -uroot
}

wait_rabbitmq() {
	for _ in $(seq 1 300); do
		(echo >"/dev/tcp/$ADDR/5672") 2>/dev/null && return 0
		pid_alive rabbitmq || die "rabbitmq exited: see $S/log/rabbitmq.log"
		sleep 0.2
	done
	die "rabbitmq did not listen on $ADDR:5672 within 60s: see $S/log/"
}

# uwsgi_app NAME PORT WSGIFILE ENV=VAL. uwsgi's http-socket closes every
# connection after one answer: say so, or clients reuse a closed connection.
uwsgi_app() {
	spawn "$1" uwsgi --plugin python3 --http-socket "$ADDR:$2" --wsgi-file "$3" \
		--master --processes 3 --threads 1 --single-interpreter --die-on-term --lazy-apps --need-app \
		--buffer-size 65535 --env "$4" --add-header "Connection: close"
}

cmd_start() {
	cmd_install
	if [ -f "$S/pids" ]; then
		if curl -s -o /dev/null --max-time 2 "http://$ADDR:5000/v3"; then
			log "already running (state in $S)"; return 0
		fi
		cmd_stop
	fi
	local t0=$SECONDS
	STARTED_HERE=1
	rm -rf "$S"
	STARTING=1
	trap 'log "start failed at line $LINENO ($BASH_COMMAND): see $S/log/ (setup.log: $(tail -2 "$S/log/setup.log" 2>/dev/null | tr "\n" " "))"; cmd_stop' ERR
	mkdir -p "$S/log"
	: >"$S/pids"
	SERVICE_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
	ADMIN_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
	USER_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
	export SERVICE_PASSWORD ADMIN_PASSWORD USER_PASSWORD
	write_configs

	start_rabbitmq
	start_mariadb

	# Schemas, while rabbitmq boots.
	keystone-manage --config-file "$S/etc/keystone.conf" db_sync >>"$S/log/setup.log" 2>&1
	keystone-manage --config-file "$S/etc/keystone.conf" fernet_setup --keystone-user root --keystone-group root >>"$S/log/setup.log" 2>&1
	keystone-manage --config-file "$S/etc/keystone.conf" credential_setup --keystone-user root --keystone-group root >>"$S/log/setup.log" 2>&1
	keystone-manage --config-file "$S/etc/keystone.conf" bootstrap --bootstrap-password "$ADMIN_PASSWORD" \
		--bootstrap-admin-url "http://$ADDR:5000/v3/" --bootstrap-internal-url "http://$ADDR:5000/v3/" \
		--bootstrap-public-url "http://$ADDR:5000/v3/" --bootstrap-region-id "$REGION" >>"$S/log/setup.log" 2>&1
	uwsgi_app keystone 5000 /usr/bin/keystone-wsgi-public "OS_KEYSTONE_CONFIG_FILES=$S/etc/keystone.conf"

	placement-manage --config-file "$S/etc/placement/placement.conf" db sync >>"$S/log/setup.log" 2>&1
	glance-manage --config-file "$S/etc/glance-api.conf" db_sync >>"$S/log/setup.log" 2>&1
	neutron-db-manage --config-file "$S/etc/neutron.conf" upgrade heads >>"$S/log/setup.log" 2>&1
	local NM=(nova-manage --config-file "$S/etc/nova.conf")
	"${NM[@]}" api_db sync >>"$S/log/setup.log" 2>&1
	"${NM[@]}" cell_v2 map_cell0 --database_connection "$(db nova_cell0)" >>"$S/log/setup.log" 2>&1
	"${NM[@]}" cell_v2 create_cell --name cell1 --verbose >>"$S/log/setup.log" 2>&1
	"${NM[@]}" db sync >>"$S/log/setup.log" 2>&1
	log "databases ready after $((SECONDS - t0))s"

	wait_http keystone "http://$ADDR:5000/v3" 60
	"$PY" "$HERE/bootstrap.py" catalog >>"$S/log/setup.log" 2>&1 || die "keystone bootstrap failed: see $S/log/setup.log"
	log "keystone ready after $((SECONDS - t0))s"

	uwsgi_app placement 8778 /usr/bin/placement-api "OS_PLACEMENT_CONFIG_DIR=$S/etc/placement"
	spawn glance glance-api --config-file "$S/etc/glance-api.conf"
	# PYTHONOPTIMIZE drops the bookkeeping asserts of neutron's test mechanism
	# driver, which only hold inside neutron's unit tests.
	PYTHONOPTIMIZE=1 spawn neutron neutron-server --config-file "$S/etc/neutron.conf"
	wait_rabbitmq
	spawn nova-api nova-api --config-file "$S/etc/nova.conf"
	spawn nova-conductor nova-conductor --config-file "$S/etc/nova.conf"
	spawn nova-scheduler nova-scheduler --config-file "$S/etc/nova.conf"
	# python3-nova's own entry point: Debian's nova-compute package only adds a
	# hypervisor (libvirt/qemu) that the fake driver does not need.
	spawn nova-compute "$PY" -c 'import sys; from nova.cmd.compute import main; sys.exit(main())' --config-file "$S/etc/nova.conf"

	wait_http placement "http://$ADDR:8778/" 90
	wait_http glance "http://$ADDR:9292/" 90
	wait_http neutron "http://$ADDR:9696/" 90
	wait_http nova-api "http://$ADDR:8774/" 90
	"$PY" "$HERE/bootstrap.py" resources >>"$S/log/setup.log" 2>&1 || die "resource bootstrap failed: see $S/log/setup.log"
	trap - ERR
	STARTING=
	log "started in $((SECONDS - t0))s (state in $S)"
}

cmd_status() {
	curl -s -o /dev/null --max-time 2 "http://$ADDR:5000/v3" && [ -f "$S/env" ]
}

# stop_started RC: at the end of `run`, stop what this run started; its state
# dir (databases on tmpfs: about 250 MB of memory) goes too when the run
# passed, and stays for its logs when it failed (the next start replaces it).
stop_started() {
	[ -n "$STARTED_HERE" ] || return 0
	cmd_stop
	if [ "$1" = 0 ]; then
		rm -rf "$S" "$S.failed"
	else
		log "the run failed: its services' logs are in $S/log"
	fi
}

cmd_run() {
	[ "${1:-}" = "--" ] && shift
	[ $# -gt 0 ] || die "usage: openstack.sh run -- CMD..."
	exec 9>"$LOCK"
	if ! flock -n 9; then
		log "waiting for $LOCK: another test run is using the test OpenStack"
		flock 9
		log "got $LOCK"
	fi
	STARTED_HERE=
	trap 'stop_started $?' EXIT
	if cmd_status; then
		log "using the services already running (state in $S)"
	else
		STARTED_HERE=1
		# A start that fails (a port still held, a slow service) is tried
		# once more; the first attempt's logs are kept in $S.failed. (The
		# subshell runs as a job so that set -e holds inside it.)
		(cmd_start) &
		if ! wait $!; then
			rm -rf "$S.failed" && mkdir -p "$S.failed" && cp -a "$S/log" "$S.failed/" 2>/dev/null || true
			log "retrying the start once (the failed attempt's logs: $S.failed/log)"
			(cmd_start) &
			wait $!
		fi
	fi
	BUTTCTL_OPENSTACK="$S" "$@"
}

export S ADDR REGION COMPUTE_HOST
case "${1:-}" in
install) cmd_install ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
run) shift; cmd_run "$@" ;;
*) echo "usage: $0 install|start|stop|status|run -- CMD..." >&2; exit 2 ;;
esac
