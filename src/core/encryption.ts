/** The readiness check for connections that cross the network without TLS. */
import { isLocalHost } from './connection.js';
import type { ServerInfo } from './pg.js';
import type { PreflightCheck } from './preflight.js';
import type { Side, SideRole } from './side.js';

/**
 * A warning for every side reached over the network without TLS: SCRAM protects the password,
 * but every row of the dump and of the restore would cross the network in the clear.
 */
export function encryptionCheck(sides: Array<[SideRole, Side, ServerInfo | undefined]>): PreflightCheck | undefined {
  const plain = sides.filter(([, side, info]) => info && !info.ssl && !isLocalHost(side.profile.host));
  if (!plain.length) return undefined;
  const names = plain.map(([role, side]) => `the ${role} (${side.profile.host})`).join(' and ');
  return {
    id: 'encryption',
    title: 'Encrypted connections',
    status: 'warning',
    detail: `The connection to ${names} is not encrypted: the data of the migration would cross the network in the clear.`,
    fix: "Connect with sslmode=require (the default for other hosts) or verify-full with the server's CA file; add channel_binding=require where the server supports it.",
  };
}
