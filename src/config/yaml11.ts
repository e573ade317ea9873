// YAML 1.1 scalars exactly as Ansible reads them (PyYAML's SafeLoader resolver), for inventories and vars files.
// The `yaml` package's own 1.1 schema differs in small ways that change values: it reads `y`/`n` as booleans, `1e3`
// as 1000 and `0o7` as 7, where PyYAML keeps all three as strings.
import type { ScalarTag, Tags } from 'yaml';

const BOOL_TRUE = /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/;
const BOOL_FALSE = /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/;
const NULL = /^(?:~|null|Null|NULL|)$/;
const INT = /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
export const ANSIBLE_FLOAT =
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;

/** PyYAML's construct_yaml_int. Integers a JS number cannot hold exactly stay bigints (Python keeps them exact). */
export function pyInt(text: string): number | bigint {
  let s = text.replace(/_/g, '');
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  let big: bigint;
  if (s === '0') return 0;
  if (s.startsWith('0b')) big = BigInt(`0b${s.slice(2) || '0'}`);
  else if (s.startsWith('0x')) big = BigInt(`0x${s.slice(2) || '0'}`);
  else if (s[0] === '0') big = BigInt(`0o${s.slice(1)}`);
  else if (s.includes(':')) big = s.split(':').reduce((acc, part) => acc * 60n + BigInt(part), 0n);
  else big = BigInt(s);
  const n = Number(big) * sign;
  if (!Number.isSafeInteger(n)) return big * BigInt(sign);
  return n === 0 ? 0 : n;
}

/** PyYAML's construct_yaml_float. */
export function pyFloat(text: string): number {
  const s = text.replace(/_/g, '').toLowerCase();
  let sign = 1;
  let body = s;
  if (body[0] === '-' || body[0] === '+') {
    if (body[0] === '-') sign = -1;
    body = body.slice(1);
  }
  if (body === '.inf') return sign * Infinity;
  if (body === '.nan') return NaN;
  if (body.includes(':')) return sign * body.split(':').reduce((acc, part) => acc * 60 + Number(part), 0);
  return sign * Number(body);
}

/**
 * The scalar tags of Ansible's YAML: PyYAML's implicit resolver (no timestamps: they stay strings, which is what
 * a date prints as anyway), plus Ansible's `!unsafe` (a plain string here) and `!vault` (refused: kvmnet has no vault).
 */
export function ansibleYamlTags(): (tags: Tags) => Tags {
  const tags: ScalarTag[] = [
    { tag: 'tag:yaml.org,2002:null', default: true, test: NULL, resolve: () => null, identify: (v) => v === null },
    { tag: 'tag:yaml.org,2002:bool', default: true, test: BOOL_TRUE, resolve: () => true, identify: (v) => typeof v === 'boolean' },
    { tag: 'tag:yaml.org,2002:bool', default: true, test: BOOL_FALSE, resolve: () => false, identify: (v) => typeof v === 'boolean' },
    {
      tag: 'tag:yaml.org,2002:int',
      default: true,
      test: INT,
      identify: (v) => (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint',
      resolve: (text) => pyInt(text),
    },
    {
      tag: 'tag:yaml.org,2002:float',
      default: true,
      test: ANSIBLE_FLOAT,
      identify: (v) => typeof v === 'number',
      resolve: (text) => pyFloat(text),
    },
    { tag: '!unsafe', resolve: (text) => text },
    {
      tag: '!vault',
      resolve: (text, onError) => {
        onError('a vault-encrypted value (!vault): kvmnet cannot decrypt Ansible Vault; give the value in plain text or with -e');
        return text;
      },
    },
  ];
  const replaced = new Set([
    'tag:yaml.org,2002:null',
    'tag:yaml.org,2002:bool',
    'tag:yaml.org,2002:int',
    'tag:yaml.org,2002:float',
    'tag:yaml.org,2002:timestamp',
  ]);
  return (defaults) => [...defaults.filter((t) => !(typeof t === 'object' && 'tag' in t && replaced.has(t.tag))), ...tags];
}
