import { describe, expect, it } from 'vitest';
import {
  checkHostKey,
  fingerprint,
  formatKnownHostsLine,
  hostKeyAlgorithms,
  hostsFieldMatches,
  keyTypeOfBlob,
  knownHostsName,
  knownKeyTypes,
  KnownHostsIndex,
  parseKnownHosts,
} from '../../../src/connection/known-hosts.js';

// Real keys from ssh-keygen; fingerprints as printed by `ssh-keygen -lf`.
const ED_A = 'AAAAC3NzaC1lZDI1NTE5AAAAIBHNqPIJ4JBU3CpnfBkIFi12SzO988l0nzLb4LvGjsm5';
const ED_A_FP = 'SHA256:ZsolAmK2lVvVksihCH1Nc/XSEfCw7q4a3islDYmcTyI';
const ED_B = 'AAAAC3NzaC1lZDI1NTE5AAAAIEZnOkuNcY/L+3pNd5kLfUE2GAPhG6mGQun9BkPOMZQf';
const ED_B_FP = 'SHA256:lZVSGqV6UStCuaw7SlKDJGaIm1hTFdNKvIhOIJ12eIY';
const ECDSA = 'AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBDvrxET3Wf1RoTy8/Tu36XQj7cA8OOWH34QzemniGozzfBY9mGWfdAwnQUodzlqxdvWSAv38zSYzGRTyV/hdtNw=';
const ECDSA_FP = 'SHA256:AXcMGgefsnQ5cn4Lh9DQQJgYSf7YlBiltaDQPg1ny8I';
const blob = (b64: string) => Buffer.from(b64, 'base64');

// `ssh-keygen -H` of "[127.0.0.1]:2222 ssh-ed25519 ED_A" and "hv1.lab ecdsa-sha2-nistp256 ECDSA".
const HASHED = [
  `|1|KDWqyhw8sknNzOr0+Ww7K4+uoQc=|mVWd1zmJgH9BWvVB69tiV2Zg4WI= ssh-ed25519 ${ED_A}`,
  `|1|yc75OeGsmbn5RV9goxTMNwHapo4=|AphHIvZMIEw16q3IivDD4eizwME= ecdsa-sha2-nistp256 ${ECDSA}`,
].join('\n');

describe('fingerprint', () => {
  it.each([
    [ED_A, ED_A_FP],
    [ED_B, ED_B_FP],
    [ECDSA, ECDSA_FP],
  ])('matches ssh-keygen -l for %s', (key, expected) => {
    expect(fingerprint(blob(key))).toBe(expected);
  });
});

describe('keyTypeOfBlob', () => {
  it('reads the type inside the blob', () => {
    expect(keyTypeOfBlob(blob(ED_A))).toBe('ssh-ed25519');
    expect(keyTypeOfBlob(blob(ECDSA))).toBe('ecdsa-sha2-nistp256');
  });
  it('is undefined for garbage', () => {
    expect(keyTypeOfBlob(Buffer.from([0, 0]))).toBeUndefined();
    expect(keyTypeOfBlob(Buffer.from([0, 0, 0, 200, 1]))).toBeUndefined();
  });
});

describe('knownHostsName', () => {
  it.each([
    ['hv1', 22, 'hv1'],
    ['HV1.Lab', 22, 'hv1.lab'],
    ['198.18.0.11', 2222, '[198.18.0.11]:2222'],
  ])('%s port %d → %s', (host, port, name) => {
    expect(knownHostsName(host, port)).toBe(name);
  });
});

describe('parseKnownHosts', () => {
  it('reads markers, comments, blank and broken lines as OpenSSH does', () => {
    const text = [
      '# a comment',
      '',
      `hv1,198.18.0.11 ssh-ed25519 ${ED_A} root@hv1`,
      `@revoked * ssh-ed25519 ${ED_B}`,
      `@cert-authority *.lab ssh-ed25519 ${ED_A}`,
      '@unknown-marker hv2 ssh-ed25519 AAAA',
      'hv3 ssh-ed25519',
      `hv4 ssh-rsa ${ED_A}`, // type field disagrees with the blob
      `   hv5    ecdsa-sha2-nistp256   ${ECDSA}`,
    ].join('\n');
    expect(parseKnownHosts(text).map((e) => [e.line, e.marker, e.hosts, e.keyType])).toEqual([
      [3, undefined, 'hv1,198.18.0.11', 'ssh-ed25519'],
      [4, 'revoked', '*', 'ssh-ed25519'],
      [5, 'cert-authority', '*.lab', 'ssh-ed25519'],
      [9, undefined, 'hv5', 'ecdsa-sha2-nistp256'],
    ]);
  });
});

describe('hostsFieldMatches', () => {
  it.each([
    ['hv1', 'hv1', true],
    ['HV1', 'hv1', true],
    ['hv1,198.18.0.11', '198.18.0.11', true],
    ['hv10', 'hv1', false],
    ['198.18.0.11', '[198.18.0.11]:2222', false],
    ['[198.18.0.11]:2222', '[198.18.0.11]:2222', true],
    ['[198.18.0.11]:2222', '198.18.0.11', false],
    ['*.lab', 'hv1.lab', true],
    ['hv?.lab', 'hv1.lab', true],
    ['hv?.lab', 'hv10.lab', false],
    ['*.lab,!hv2.lab', 'hv2.lab', false],
    ['[*.lab]:2222', '[hv1.lab]:2222', true],
    ['hv1.lab', 'hv1xlab', false], // `.` is not a wildcard
  ])('%s vs %s → %s', (field, name, expected) => {
    expect(hostsFieldMatches(field, name)).toBe(expected);
  });

  it('matches hashed entries written by ssh-keygen -H, port form included', () => {
    const [port2222, hv1lab] = parseKnownHosts(HASHED);
    expect(hostsFieldMatches(port2222!.hosts, '[127.0.0.1]:2222')).toBe(true);
    expect(hostsFieldMatches(port2222!.hosts, '127.0.0.1')).toBe(false);
    expect(hostsFieldMatches(port2222!.hosts, '[127.0.0.1]:22')).toBe(false);
    expect(hostsFieldMatches(hv1lab!.hosts, 'hv1.lab')).toBe(true);
    expect(hostsFieldMatches(hv1lab!.hosts, 'hv2.lab')).toBe(false);
  });
});

describe('KnownHostsIndex', () => {
  const file = [
    `hv1,198.18.0.11 ssh-ed25519 ${ED_A}`,
    `HV2 ssh-ed25519 ${ED_B}`,
    `*.lab,!hv2.lab ecdsa-sha2-nistp256 ${ECDSA}`,
    `[198.18.0.11]:2222 ssh-ed25519 ${ED_B}`,
    `hv1 ecdsa-sha2-nistp256 ${ECDSA}`,
    HASHED,
  ].join('\n');
  const entries = parseKnownHosts(file);
  const index = new KnownHostsIndex(entries);

  it.each(['hv1', 'HV1', 'hv2', '198.18.0.11', '[198.18.0.11]:2222', '[127.0.0.1]:2222', 'hv1.lab', 'hv2.lab', 'hv3.lab', 'nothing'])(
    'finds for %s exactly the entries a scan of every line finds, in file order',
    (name) => {
      const scan = entries.filter((e) => hostsFieldMatches(e.hosts, name)).map((e) => e.line);
      expect(index.forName(name).map((e) => e.line)).toEqual(scan);
    },
  );

  it('finds at least one entry for the names above that have one (the comparison is not vacuous)', () => {
    expect(index.forName('hv1').map((e) => e.line)).toEqual([1, 5]);
    expect(index.forName('hv1.lab').map((e) => e.line)).toEqual([3, 7]);
    expect(index.forName('[127.0.0.1]:2222').map((e) => e.line)).toEqual([6]);
    expect(index.forName('hv2.lab')).toEqual([]);
  });

  it('learns entries added later', () => {
    const grown = new KnownHostsIndex(entries);
    grown.add({ ...parseKnownHosts(`hv9 ssh-ed25519 ${ED_A}`)[0]!, line: 99 });
    expect(checkHostKey(grown.forName('hv9'), 'hv9', blob(ED_A))).toEqual({ status: 'known' });
  });
});

describe('checkHostKey', () => {
  it('knows a key from a hashed entry', () => {
    expect(checkHostKey(parseKnownHosts(HASHED), '[127.0.0.1]:2222', blob(ED_A))).toEqual({ status: 'known' });
  });

  it('reports a different key of the same type as changed, with the old entry', () => {
    const result = checkHostKey(parseKnownHosts(HASHED), '[127.0.0.1]:2222', blob(ED_B));
    expect(result.status).toBe('changed');
    if (result.status !== 'changed') return;
    expect(result.known.map((e) => [e.line, fingerprint(e.key)])).toEqual([[1, ED_A_FP]]);
  });

  it('reports a host with no entry as unknown', () => {
    expect(checkHostKey(parseKnownHosts(HASHED), '[127.0.0.1]:2223', blob(ED_A))).toEqual({
      status: 'unknown',
      knownTypes: [],
    });
  });

  it('counts only a key of the SAME type as changed when a host has several types', () => {
    const entries = parseKnownHosts(`hv1 ecdsa-sha2-nistp256 ${ECDSA}\nhv1 ssh-ed25519 ${ED_A}`);
    expect(checkHostKey(entries, 'hv1', blob(ED_A))).toEqual({ status: 'known' });
    expect(checkHostKey(entries, 'hv1', blob(ECDSA))).toEqual({ status: 'known' });
    expect(checkHostKey(entries, 'hv1', blob(ED_B)).status).toBe('changed');

    const ecdsaOnly = parseKnownHosts(`hv1 ecdsa-sha2-nistp256 ${ECDSA}`);
    expect(checkHostKey(ecdsaOnly, 'hv1', blob(ED_B))).toEqual({
      status: 'unknown',
      knownTypes: ['ecdsa-sha2-nistp256'],
    });
  });

  it('accepts the key if any entry for the host has it, even when another entry of that type differs', () => {
    const entries = parseKnownHosts(`hv1 ssh-ed25519 ${ED_B}\nhv1 ssh-ed25519 ${ED_A}`);
    expect(checkHostKey(entries, 'hv1', blob(ED_A))).toEqual({ status: 'known' });
  });

  it('refuses a @revoked key even when another line knows it', () => {
    const entries = parseKnownHosts(`hv1 ssh-ed25519 ${ED_A}\n@revoked * ssh-ed25519 ${ED_A}`);
    const result = checkHostKey(entries, 'hv1', blob(ED_A));
    expect(result.status).toBe('revoked');
  });

  it('ignores @cert-authority lines (certificates are not supported)', () => {
    const entries = parseKnownHosts(`@cert-authority hv1 ssh-ed25519 ${ED_A}`);
    expect(checkHostKey(entries, 'hv1', blob(ED_A)).status).toBe('unknown');
  });

  it('does not let a plain entry for port 22 vouch for another port', () => {
    const entries = parseKnownHosts(`127.0.0.1 ssh-ed25519 ${ED_A}`);
    expect(checkHostKey(entries, '[127.0.0.1]:2222', blob(ED_A)).status).toBe('unknown');
  });
});

describe('writing and negotiating', () => {
  it('formats a line that parses back to the same key', () => {
    const line = formatKnownHostsLine('[127.0.0.1]:2222', blob(ED_A));
    expect(line).toBe(`[127.0.0.1]:2222 ssh-ed25519 ${ED_A}`);
    expect(checkHostKey(parseKnownHosts(line), '[127.0.0.1]:2222', blob(ED_A))).toEqual({ status: 'known' });
  });

  it('offers the host key algorithms of known types first', () => {
    const entries = parseKnownHosts(
      `hv1 ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDY0S61/421SYeo74n/ic/QZXByGta0WCEITS04WEW2M3yRaBX5GEuhZXNJZ3nGxCDa1yuMBzza8okeC8RZTtrDPq97Wao4pBG1rZWxK3g1IuhYxAeibw/Ecjb2eFZWfzf9cjgXlFJo9EJeTi485mc9Fo2S2LS52bT8ZKeDtz7f7w==`,
    );
    expect(knownKeyTypes(entries, 'hv1')).toEqual(['ssh-rsa']);
    expect(hostKeyAlgorithms(['ssh-rsa'])).toEqual([
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
      'ssh-ed25519',
      'ecdsa-sha2-nistp256',
      'ecdsa-sha2-nistp384',
      'ecdsa-sha2-nistp521',
    ]);
    expect(hostKeyAlgorithms([])[0]).toBe('ssh-ed25519');
  });
});
