"""Registers what openstack.sh's cloud needs, with openstacksdk (Debian's python3-openstacksdk).

  bootstrap.py catalog    service users and endpoints; the "buttctl" project and user
  bootstrap.py resources  flavors, an image, a shared network, the compute host; writes
                          clouds.yaml, secure.yaml and env in the state dir
"""
import os
import sys
import time

import openstack

S = os.environ["S"]
ADDR = os.environ["ADDR"]
REGION = os.environ["REGION"]
AUTH_URL = f"http://{ADDR}:5000/v3"


def admin():
    return openstack.connect(
        auth_url=AUTH_URL, username="admin", password=os.environ["ADMIN_PASSWORD"],
        project_name="admin", user_domain_name="Default", project_domain_name="Default",
        region_name=REGION, identity_api_version="3")


def catalog():
    c = admin()
    idc = c.identity
    service = idc.create_project(name="service", domain_id="default")
    admin_role = idc.find_role("admin")
    member_role = idc.find_role("member")
    for name in ("nova", "glance", "placement", "neutron"):
        u = idc.create_user(name=name, password=os.environ["SERVICE_PASSWORD"], domain_id="default")
        idc.assign_project_role_to_user(service, u, admin_role)
    for name, typ, url in (
        ("glance", "image", f"http://{ADDR}:9292"),
        ("placement", "placement", f"http://{ADDR}:8778"),
        ("nova", "compute", f"http://{ADDR}:8774/v2.1"),
        ("neutron", "network", f"http://{ADDR}:9696"),
    ):
        svc = idc.create_service(name=name, type=typ)
        for iface in ("public", "internal", "admin"):
            idc.create_endpoint(service_id=svc.id, interface=iface, url=url, region_id=REGION)
    project = idc.create_project(name="buttctl", domain_id="default", description="buttctl tests")
    user = idc.create_user(name="buttctl", password=os.environ["USER_PASSWORD"], domain_id="default",
                           default_project_id=project.id)
    idc.assign_project_role_to_user(project, user, member_role)
    # The admin may act in the test project too (quota and stray tests).
    idc.assign_project_role_to_user(project, idc.find_user("admin"), admin_role)


def wait(what, fn, secs):
    deadline = time.time() + secs
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.5)
    sys.exit(f"timed out waiting for {what}")


def resources():
    c = admin()
    project = c.identity.find_project("buttctl")
    c.compute.create_flavor(name="m1.tiny", ram=512, vcpus=1, disk=1, id="buttctl-tiny")
    c.compute.create_flavor(name="m1.small", ram=2048, vcpus=1, disk=10, id="buttctl-small")
    path = os.path.join(S, "tiny.img")
    with open(path, "wb") as f:
        f.write(b"\0" * 65536)
    image = c.image.create_image(name="debian-12", filename=path, disk_format="raw",
                                 container_format="bare", visibility="public", wait=True)
    net = c.network.create_network(name="public", shared=True, provider_network_type="local")
    # A loopback subnet: a server's address is one this machine owns, so a test
    # can put a real sshd there. Neutron allows it with DHCP off.
    c.network.create_subnet(network_id=net.id, name="public-v4", ip_version=4,
                            cidr="127.77.0.0/16", enable_dhcp=False, gateway_ip=None,
                            allocation_pools=[{"start": "127.77.0.10", "end": "127.77.255.250"}])
    wait("the compute host in placement", lambda: list(c.placement.resource_providers()), 120)
    wait("the compute host in a cell", lambda: list(c.compute.hypervisors()), 120)

    with open(os.path.join(S, "clouds.yaml"), "w") as f:
        f.write(f"""clouds:
  buttctl:
    auth:
      auth_url: {AUTH_URL}
      username: buttctl
      project_name: buttctl
      user_domain_name: Default
      project_domain_name: Default
    region_name: {REGION}
    interface: public
    identity_api_version: 3
  buttctl-admin:
    auth:
      auth_url: {AUTH_URL}
      username: admin
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: {REGION}
    interface: public
    identity_api_version: 3
""")
    fd = os.open(os.path.join(S, "secure.yaml"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"""clouds:
  buttctl:
    auth:
      password: {os.environ["USER_PASSWORD"]}
  buttctl-admin:
    auth:
      password: {os.environ["ADMIN_PASSWORD"]}
""")
    with open(os.path.join(S, "env"), "w") as f:
        f.write(f"AUTH_URL={AUTH_URL}\nREGION={REGION}\nPROJECT_ID={project.id}\n"
                f"IMAGE=debian-12\nIMAGE_ID={image.id}\nFLAVOR=m1.tiny\nNETWORK=public\nNETWORK_ID={net.id}\n"
                f"COMPUTE_HOST={os.environ['COMPUTE_HOST']}\n")


{"catalog": catalog, "resources": resources}[sys.argv[1]]()
