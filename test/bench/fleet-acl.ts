// The per-site cloud ACL of docs/fleet.md, as a mosquitto acl_file: each gateway logs in with its
// site id as user name and may only read and write its own site's tree; the back end reads every
// site and may command them. Mosquitto substitutes %u (user name) and %c (client id) in `pattern`
// lines (mosquitto.conf(5), acl_file).

export const BACKEND_USER = 'backend';

export function fleetAcl(): string {
  return [
    '# The back end: reads every site, commands every site.',
    `user ${BACKEND_USER}`,
    'topic readwrite site/#',
    '',
    '# Every gateway (user name = its site id): its own site only, nothing else.',
    'pattern readwrite site/%u/#',
    '',
  ].join('\n');
}
