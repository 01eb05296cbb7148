// The twin's services host: what plays AWS's side of a VPC, in one host booted from the services
// image (the stack's recipe plus moto, dnsmasq, nfs-ganesha) at the VPC's resolver address:
// - dnsmasq answers every *.amazonaws.com name with this host (the APIs, RDS, EFS) and hands the
//   instances their fixed addresses by DHCP (cloud-init's Ec2Local asks, as on EC2), with no router;
// - moto in server mode serves the AWS APIs on :5000 (S3, SSM, Secrets Manager, SQS, DynamoDB,
//   CloudWatch Logs, IAM, STS, Auto Scaling, EC2, ACM) as the stack's account, which holds the stack's
//   pinned AMI (the golden image the twin boots): the instances reach it through AWS_ENDPOINT_URL;
// - EFS is nfs-ganesha exporting the file system's root over NFSv4, behind stunnel (TLS on 2049,
//   a certificate for *.efs.<region>.amazonaws.com from the twin's own CA, which instances trust);
// - PostgreSQL plays RDS: TLS required (a plain connection is refused), a master user who may
//   create roles and databases but is no superuser, as RDS's is.
// Pure: the files and the pid 1 of the host; src/twin/up.ts boots it.
import type { HostFile } from "../local/host-seed.ts";
import { shellWord as q } from "../render/index.ts";

export const MOTO_PORT = 5000;
export const RDS_PORT = 5432;
/** Where the services host's pid 1 says it is ready (every service answered), read from the machine. */
export const SERVICES_READY = "run/fawkes-twin/ready";
const INIT = "/usr/local/lib/fawkes-twin/init";
export const SERVICES_INIT_PATH = INIT;
const PG_BIN = "/usr/lib/postgresql/17/bin";

export interface ServicesConfig {
  address: string;
  subnet: string;
  /** The instances' fixed addresses by MAC, for DHCP. */
  leases: ReadonlyArray<{ mac: string; ip: string; name: string }>;
  /** RDS: the master user the stack declares and its password (also in the twin's Secrets Manager). */
  database?: { masterUser: string; masterPassword: string; hostName: string };
  /** The account moto answers as: the stack's (its artifact bucket's name and role ARNs carry it). */
  account: string;
  /** The AMIs the account holds: the stack's pinned one, which is the golden image the twin boots. */
  images: ReadonlyArray<{ id: string; name: string; architecture: string }>;
  /** EFS: its mount targets' names are <fs-id>.efs.<region>.amazonaws.com, served over TLS on 2049. */
  region: string;
}

/** Where the services host keeps the EFS export (the machine's dir bound there) and its TLS files. */
export const EFS_EXPORT = "/srv/efs";
export const EFS_TLS_DIR = "/etc/fawkes-twin/efs";
/** The CA the twin's EFS certificate is signed by: the instances trust it as EC2 instances trust Amazon's roots. */
export const EFS_CA = `${EFS_TLS_DIR}/ca.crt`;
/** nfs-ganesha's own port, on the services host's loopback; clients reach it through TLS on 2049. */
export const GANESHA_PORT = 20490;
export const EFS_PORT = 2049;

/**
 * nfs-ganesha (userspace: this kernel has no nfsd) exporting the file system's root as EFS does:
 * NFSv4 only (minor versions 0 to 2: the kernel client mounts 4.1, libnfs speaks 4.0), read-write,
 * root not squashed (the file-system policy grants the hosts' roles ClientRootAccess).
 */
export function ganeshaConf(): string {
  return [
    "# fawkes twin: EFS as an NFSv4 export",
    "NFS_CORE_PARAM {",
    "  Protocols = 4;",
    `  NFS_Port = ${GANESHA_PORT};`,
    "  Bind_addr = 127.0.0.1;",
    "  Enable_NLM = false;",
    "  Enable_RQUOTA = false;",
    // The host is a namespace without CAP_SYS_RESOURCE over the machine's io flusher setting.
    "  allow_set_io_flusher_fail = true;",
    "}",
    "NFSV4 {",
    "  Graceless = true;",
    // Owners as numbers, as EFS and a sec=sys kernel client use them: no idmapd in the twin.
    "  Only_Numeric_Owners = true;",
    "  Minor_Versions = 0, 1, 2;",
    "}",
    "EXPORT {",
    "  Export_Id = 1;",
    `  Path = ${EFS_EXPORT};`,
    "  Pseudo = /;",
    "  Protocols = 4;",
    "  Transports = TCP;",
    "  Access_Type = RW;",
    "  Squash = No_Root_Squash;",
    "  SecType = sys;",
    "  FSAL { Name = VFS; }",
    "}",
    "LOG { Default_Log_Level = EVENT; }",
    "",
  ].join("\n");
}

/** stunnel in front of ganesha: TLS 1.2+ on 2049 with a certificate for *.efs.<region>.amazonaws.com, as EFS's mount targets. */
export function efsStunnelConf(c: Pick<ServicesConfig, "address">): string {
  return ["; fawkes twin: EFS's mount targets take NFS over TLS", "foreground = yes", "pid =", "[efs]", `accept = ${c.address}:${EFS_PORT}`, `connect = 127.0.0.1:${GANESHA_PORT}`, `cert = ${EFS_TLS_DIR}/server.crt`, `key = ${EFS_TLS_DIR}/server.key`, "sslVersionMin = TLSv1.2", ""].join("\n");
}

/** moto's MOTO_AMIS_PATH file: the account's own images, each available. */
export function motoAmis(c: ServicesConfig): string {
  return `${JSON.stringify(
    c.images.map((i) => ({ ami_id: i.id, name: i.name, description: "fawkes golden image (the twin's)", owner_id: c.account, public: false, virtualization_type: "hvm", architecture: i.architecture, state: "available", root_device_type: "ebs", root_device_name: "/dev/xvda", platform: null, hypervisor: "xen" })),
    null,
    2,
  )}\n`;
}


export function dnsmasqConf(c: ServicesConfig): string {
  const base = c.subnet.split(".").slice(0, 3).join(".");
  return [
    "# fawkes twin: the VPC's resolver and DHCP server",
    "keep-in-foreground",
    "user=root",
    "no-resolv",
    "no-hosts",
    "bind-interfaces",
    `listen-address=${c.address}`,
    // Every AWS endpoint name (APIs, RDS, EFS) is this host: moto, PostgreSQL, the NFS server.
    `address=/amazonaws.com/${c.address}`,
    `dhcp-range=${base}.0,static,255.255.255.0,12h`,
    // No router: there is none, and a DHCP client given one waits for it (cloud-init's Ec2Local does).
    "dhcp-option=option:router",
    `dhcp-option=option:dns-server,${c.address}`,
    "dhcp-authoritative",
    "dhcp-leasefile=/run/fawkes-twin/dnsmasq.leases",
    ...c.leases.map((l) => `dhcp-host=${l.mac},${l.ip},${l.name}`),
    "log-facility=/var/log/fawkes-twin/dnsmasq.log",
    "",
  ].join("\n");
}

export function pgHba(): string {
  return ["# fawkes twin RDS: TLS or nothing, as rds.force_ssl=1", "local all postgres peer", "hostssl all all 0.0.0.0/0 scram-sha-256", "hostnossl all all 0.0.0.0/0 reject", ""].join("\n");
}

/**
 * pid 1 of the services host: starts each service, checks each answers, then says ready; on
 * TERM stops them all. A service that dies is reported in its log and the ready file is removed.
 */
export function servicesInit(c: ServicesConfig): string {
  const db = c.database;
  const dbLines = db
    ? [
        "start_rds() {",
        `  local data=/var/lib/postgresql/twin-rds`,
        "  if [[ ! -s $data/PG_VERSION ]]; then",
        "    install -d -o postgres -g postgres -m 0700 \"$data\"",
        `    runuser -u postgres -- ${PG_BIN}/initdb -D "$data" --auth-local=peer --auth-host=reject -U postgres >>"$LOGS/rds.log" 2>&1`,
        `    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj ${q(`/CN=${db.hostName}`)} -addext ${q(`subjectAltName=DNS:${db.hostName}`)} -keyout "$data/server.key" -out "$data/server.crt" 2>>"$LOGS/rds.log"`,
        '    chown postgres:postgres "$data/server.key" "$data/server.crt"; chmod 0600 "$data/server.key"',
        '    cp /etc/fawkes-twin/pg_hba.conf "$data/pg_hba.conf"',
        "  fi",
        `  runuser -u postgres -- ${PG_BIN}/postgres -D "$data" -c listen_addresses=${c.address} -c port=${RDS_PORT} -c ssl=on -c ssl_min_protocol_version=TLSv1.2 -c password_encryption=scram-sha-256 >>"$LOGS/rds.log" 2>&1 &`,
        "  local n",
        "  for ((n = 0; n < 300; n++)); do",
        `    runuser -u postgres -- ${PG_BIN}/pg_isready -q -h /var/run/postgresql && break`,
        "    sleep 0.1",
        "  done",
        // RDS's master user: CREATEROLE and CREATEDB, no superuser; its password from the twin's secret.
        `  runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -h /var/run/postgresql -d postgres -v user=${q(db.masterUser)} -v pw=${q(db.masterPassword)} >>"$LOGS/rds.log" 2>&1 <<'SQL'`,
        "SELECT format('CREATE ROLE %I LOGIN CREATEDB CREATEROLE PASSWORD %L', :'user', :'pw') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'user')",
        "\\gexec",
        "SELECT format('ALTER ROLE %I PASSWORD %L', :'user', :'pw')",
        "\\gexec",
        "SQL",
        "}",
      ]
    : ["start_rds() { :; }"];
  const efsName = `*.efs.${c.region}.amazonaws.com`;
  const efsLines = [
    "start_efs() {",
    `  local d=${EFS_TLS_DIR}`,
    // ganesha finds the exported file system in /etc/mtab, which a booted Debian links to the kernel's list.
    "  [[ -e /etc/mtab ]] || ln -s ../proc/self/mounts /etc/mtab",
    '  if [[ ! -s $d/server.crt ]]; then',
    '    install -d -m 0700 "$d"',
    `    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj '/CN=fawkes twin CA' -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -keyout "$d/ca.key" -out "$d/ca.crt" 2>>"$LOGS/efs.log"`,
    `    openssl req -newkey rsa:2048 -nodes -subj ${q(`/CN=${efsName}`)} -keyout "$d/server.key" -out "$d/server.csr" 2>>"$LOGS/efs.log"`,
    `    printf '%s\\n' ${q(`subjectAltName=DNS:${efsName}`)} basicConstraints=CA:FALSE extendedKeyUsage=serverAuth >"$d/server.ext"`,
    '    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 30 -extfile "$d/server.ext" -out "$d/server.crt" 2>>"$LOGS/efs.log"',
    "  fi",
    `  ganesha.nfsd -F -f /etc/fawkes-twin/ganesha.conf -L "$LOGS/ganesha.log" -p /run/fawkes-twin/ganesha.pid >>"$LOGS/ganesha.log" 2>&1 &`,
    '  stunnel /etc/fawkes-twin/stunnel-efs.conf >>"$LOGS/stunnel.log" 2>&1 &',
    "}",
    // A port answers: bash's own /dev/tcp, no client tool.
    'listening() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }',
  ];
  return [
    "#!/bin/bash",
    "# fawkes twin services host: pid 1 in its own pid namespace.",
    "set -u",
    "readonly LOGS=/var/log/fawkes-twin",
    "mkdir -p /run/fawkes-twin \"$LOGS\" /var/run/postgresql /run/lock",
    "chown postgres:postgres /var/run/postgresql",
    "stop() {",
    "  rm -f /run/fawkes-twin/ready",
    "  kill -TERM -1 2>/dev/null",
    "  for _ in $(seq 20); do kill -0 -1 2>/dev/null || exit 0; sleep 0.1; done",
    "  kill -KILL -1 2>/dev/null",
    "  exit 0",
    "}",
    "trap stop TERM INT",
    "fail() { echo \"$*\" >/run/fawkes-twin/failed; echo \"$*\" >>\"$LOGS/init.log\"; }",
    "dnsmasq --conf-file=/etc/fawkes-twin/dnsmasq.conf >>\"$LOGS/dnsmasq.log\" 2>&1 &",
    "dns=$!",
    `MOTO_ACCOUNT_ID=${q(c.account)} MOTO_AMIS_PATH=/etc/fawkes-twin/amis.json moto_server -H ${c.address} -p ${MOTO_PORT} >>"$LOGS/moto.log" 2>&1 &`,
    ...dbLines,
    ...efsLines,
    "start_rds",
    "start_efs",
    "ready=0",
    "for ((n = 0; n < 600; n++)); do",
    `  curl -sf -o /dev/null http://${c.address}:${MOTO_PORT}/moto-api/ && ready=1 && break`,
    "  sleep 0.1",
    "done",
    `((ready)) || fail "moto did not answer on ${c.address}:${MOTO_PORT} within 60 s"`,
    ...(db ? [`${PG_BIN}/pg_isready -q -h ${c.address} -p ${RDS_PORT} -t 10 || fail "PostgreSQL did not accept connections on ${c.address}:${RDS_PORT}"`] : []),
    "kill -0 \"$dns\" 2>/dev/null || fail \"dnsmasq is not running: $(tail -3 \"$LOGS/dnsmasq.log\")\"",
    "for ((n = 0; n < 300; n++)); do",
    `  listening 127.0.0.1 ${GANESHA_PORT} && listening ${c.address} ${EFS_PORT} && break`,
    "  sleep 0.1",
    "done",
    `listening 127.0.0.1 ${GANESHA_PORT} || fail "nfs-ganesha (EFS) did not listen on 127.0.0.1:${GANESHA_PORT}: $(tail -3 "$LOGS/ganesha.log")"`,
    `listening ${c.address} ${EFS_PORT} || fail "stunnel (EFS over TLS) did not listen on ${c.address}:${EFS_PORT}: $(tail -3 "$LOGS/stunnel.log")"`,
    "[[ -e /run/fawkes-twin/failed ]] || date +%s.%N >/run/fawkes-twin/ready",
    "while :; do wait -n 2>/dev/null || sleep 1; done",
    "",
  ].join("\n");
}

/** The files the services host starts with over its image. */
export function servicesFiles(c: ServicesConfig): HostFile[] {
  return [
    { path: "etc/fawkes-twin/dnsmasq.conf", content: dnsmasqConf(c), mode: 0o644 },
    { path: "etc/fawkes-twin/pg_hba.conf", content: pgHba(), mode: 0o644 },
    { path: "etc/fawkes-twin/amis.json", content: motoAmis(c), mode: 0o644 },
    { path: "etc/fawkes-twin/ganesha.conf", content: ganeshaConf(), mode: 0o644 },
    { path: "etc/fawkes-twin/stunnel-efs.conf", content: efsStunnelConf(c), mode: 0o644 },
    { path: INIT.slice(1), content: servicesInit(c), mode: 0o700 },
  ];
}
