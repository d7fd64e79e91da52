#!/bin/sh
# Installs the LiFePO4 EMS edge agent on Debian 12 or Raspberry Pi OS (bookworm), arm64 or amd64.
# Usage (as root): sh install.sh --agent-tarball lifo4-agent.tar.gz --provision-url https://cloud.example/api/v1 \
#                      --claim-token TOKEN --trust-key fleet-signing.pub --ca fleet-ca.crt [--serial SERIAL]
# (the fleet's signing public key and CA certificate, from the cloud's <data-dir>/ota/: what the
# device trusts before it is provisioned; README, "Provisioning, device certificates and offline signing")
# The tarball is a build of this repository with production node_modules and the Node-RED the
# host embeds (npm ci --omit=dev, then npm install --omit=dev --save-prod node-red@4.1.8: see
# edge-image/README.md); nothing is fetched from a registry on the device. Updates after this arrive as signed OTA bundles.
set -eu

AGENT_TARBALL=""
PROVISION_URL=""
CLAIM_TOKEN=""
SERIAL=""
TRUST_KEY=""
TRUST_CA=""
while [ $# -gt 0 ]; do
  case "$1" in
    --agent-tarball) AGENT_TARBALL="$2"; shift 2 ;;
    --provision-url) PROVISION_URL="$2"; shift 2 ;;
    --claim-token) CLAIM_TOKEN="$2"; shift 2 ;;
    --serial) SERIAL="$2"; shift 2 ;;
    --trust-key) TRUST_KEY="$2"; shift 2 ;;
    --ca) TRUST_CA="$2"; shift 2 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$AGENT_TARBALL" ] && [ -n "$PROVISION_URL" ] && [ -n "$CLAIM_TOKEN" ] && [ -n "$TRUST_KEY" ] && [ -n "$TRUST_CA" ] || {
  echo "install.sh: --agent-tarball, --provision-url, --claim-token, --trust-key and --ca are required" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root" >&2; exit 2; }

# Node.js 20 from the distribution or NodeSource; the bundle's manifest names the Node major it needs.
if ! command -v node >/dev/null 2>&1; then
  apt-get update
  apt-get install -y nodejs
fi
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
[ "$NODE_MAJOR" -ge 20 ] || { echo "install.sh: Node.js >= 20 needed, found $NODE_MAJOR" >&2; exit 1; }

id lifo4 >/dev/null 2>&1 || useradd --system --home-dir /var/lib/lifo4 --shell /usr/sbin/nologin lifo4
install -d -m 0755 /opt/lifo4/agent /etc/lifo4
install -d -m 0700 -o lifo4 -g lifo4 /var/lib/lifo4
tar -xzf "$AGENT_TARBALL" -C /opt/lifo4/agent --no-same-owner
# What the agent trusts at provisioning: <agent dir>/trust/ (the agent's default place).
install -d -m 0755 -o lifo4 -g lifo4 /var/lib/lifo4/trust
install -m 0644 "$TRUST_KEY" /var/lib/lifo4/trust/fleet-signing.pub
install -m 0644 "$TRUST_CA" /var/lib/lifo4/trust/ca.crt

# The claim token is the device's only secret until provisioning; readable by lifo4 alone.
umask 077
printf '%s\n' "$CLAIM_TOKEN" > /var/lib/lifo4/claim-token
chown lifo4:lifo4 /var/lib/lifo4/claim-token
{
  echo "LIFO4_PROVISION_URL=$PROVISION_URL"
  [ -n "$SERIAL" ] && echo "LIFO4_SERIAL=$SERIAL"
} > /etc/lifo4/agent.env
umask 022

install -m 0644 "$(dirname "$0")/lifo4-agent.service" /etc/systemd/system/lifo4-agent.service
install -m 0644 "$(dirname "$0")/lifo4-edge.service" /etc/systemd/system/lifo4-edge.service
systemctl daemon-reload
systemctl enable --now lifo4-agent.service
echo "lifo4 agent installed; follow it with: journalctl -u lifo4-agent -f"
