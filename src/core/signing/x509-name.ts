/**
 * X.509 distinguished names as Windows shows them (X500DistinguishedName.Name, the form
 * Get-AuthenticodeSignature prints and pack authors copy): most specific attribute first,
 * ", " between attributes, short keys (CN, O, OU, L, S, C, E...), values containing
 * separators in double quotes, e.g. `CN=DigiCert Trusted G4 Code Signing RSA4096 SHA384
 * 2021 CA1, O="DigiCert, Inc.", C=US`. Unknown attribute types appear as `OID.<oid>`.
 */
import type { RelativeDistinguishedNames } from 'pkijs';

const SHORT_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'SERIALNUMBER',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'S',
  '2.5.4.9': 'STREET',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'T',
  '2.5.4.42': 'G',
  '2.5.4.43': 'I',
  '2.5.4.17': 'PostalCode',
  '1.2.840.113549.1.9.1': 'E',
  '0.9.2342.19200300.100.1.25': 'DC',
};

export interface NameAttribute {
  oid: string;
  key: string;
  value: string;
}

function attributeValue(value: unknown): string {
  const block = (value as { valueBlock?: { value?: unknown; valueHexView?: Uint8Array } } | undefined)?.valueBlock;
  if (block && typeof block.value === 'string') return block.value;
  if (block?.valueHexView) return `#${Buffer.from(block.valueHexView).toString('hex')}`;
  return '';
}

/** Attributes in encoded order (least specific first, usually C ... CN). */
export function nameAttributes(name: RelativeDistinguishedNames): NameAttribute[] {
  return name.typesAndValues.map((tv) => ({
    oid: tv.type,
    key: SHORT_NAMES[tv.type] ?? `OID.${tv.type}`,
    value: attributeValue(tv.value),
  }));
}

function quote(value: string): string {
  return /[,+=<>#;"\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function formatAttributes(attrs: readonly NameAttribute[]): string {
  return [...attrs]
    .reverse()
    .map((a) => `${a.key}=${quote(a.value)}`)
    .join(', ');
}

export function formatName(name: RelativeDistinguishedNames): string {
  return formatAttributes(nameAttributes(name));
}

export function commonName(name: RelativeDistinguishedNames): string | undefined {
  const cns = nameAttributes(name).filter((a) => a.oid === '2.5.4.3');
  return cns[cns.length - 1]?.value;
}
