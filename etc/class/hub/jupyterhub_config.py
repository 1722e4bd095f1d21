# The course JupyterHub of the class test (tests/class/test_hub.py): five learners on one machine.
#
# Read by `jupyterhub -f etc/class/hub/jupyterhub_config.py`; the test fixture sets the MINIDL_HUB_* variables
# below (a temp dir, free ports, the proxy it installed with `npm ci` from package-lock.json beside this file).
# It is a test hub: everything on 127.0.0.1, a shared password, every server run by this machine's user
# (root here) with SimpleLocalProcessSpawner. A real class runs The Littlest JupyterHub or Zero to JupyterHub
# instead: docs/classroom.md says how, and why the test does not create Unix users.
import os
import pathlib
import sys

env = os.environ
state = pathlib.Path(env["MINIDL_HUB_DIR"])            # the hub's temp dir: database, cookie secret, homes
venv_bin = pathlib.Path(sys.executable).parent          # the single-user servers use the hub's venv: minidl inside

c = get_config()  # noqa: F821  (jupyterhub injects get_config)

# Network: the proxy is the only public door; hub, proxy API and single-user servers on loopback too.
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(env["MINIDL_HUB_PORT"])
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(env["MINIDL_HUB_HUB_PORT"])
c.ConfigurableHTTPProxy.command = [env["MINIDL_HUB_PROXY"]]     # configurable-http-proxy 5.3.0 (npm ci)
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env['MINIDL_HUB_PROXY_API_PORT']}"
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
c.ConfigurableHTTPProxy.should_start = True
c.JupyterHub.cleanup_servers = True                    # hub stop = proxy and every single-user server stop
c.JupyterHub.cleanup_proxy = True

# State in the temp dir.
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")

# Learners: a shared password (the non-deprecated form of DummyAuthenticator's password), five names allowed.
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = env["MINIDL_HUB_PASSWORD"]
c.Authenticator.allowed_users = set(env["MINIDL_HUB_LEARNERS"].split(","))

# The test drives the hub's REST API as an admin service (user tokens, server state: the pid of each server).
c.JupyterHub.services = [{"name": "class-test", "api_token": env["MINIDL_HUB_SERVICE_TOKEN"]}]
c.JupyterHub.load_roles = [{"name": "admin", "services": ["class-test"]}]

# Single-user servers: this venv's jupyterhub-singleuser (JupyterLab, nbgitpuller, Voila, ipykernel, minidl
# installed in editable mode), a home per learner under the temp dir, run as the hub's user.
c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
c.SimpleLocalProcessSpawner.home_dir_template = str(state / "home" / "{username}")
c.Spawner.cmd = [str(venv_bin / "jupyterhub-singleuser")]
c.Spawner.args = ["--allow-root"] if os.geteuid() == 0 else []    # Jupyter Server refuses root without it
c.Spawner.default_url = "/lab"
c.Spawner.environment = {"NBGITPULLER_DEPTH": "1"}   # the default, said out loud: the collection, not its history
c.Spawner.start_timeout = 120                        # two cores, five learners starting at once
c.Spawner.http_timeout = 120
