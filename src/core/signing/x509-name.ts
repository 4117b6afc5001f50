/**
 * X.509 distinguished names as Windows shows them (X500DistinguishedName.Name, the form
 * Get-AuthenticodeSignature prints and pack authors copy): most specific attribute first,
 * ", " between attributes, short keys (CN, O, OU, L, S, C, E...), values containing
 * separators in double quotes, e.g. `CN=DigiCert Trusted G4 Code Signing RSA4096 SHA384
 * 2021 CA1, O="DigiCert, Inc.", C=US`. Unknown attribute types appear as `OID.<oid>`.
 */
import { stringValue, TAG_CLASS_UNIVERSAL, type DerElement } from './der.js';
import type { X509Name } from './x509-certificate.js';

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

/** ASN.1 types that are UTF-8 text though not UTF8String: TIME, DATE, TIME-OF-DAY, DATE-TIME, DURATION. */
const UTF8_TEXT_TAGS: ReadonlySet<number> = new Set([14, 31, 32, 33, 34]);
const UTC_TIME = 23;
const GENERALIZED_TIME = 24;

/**
 * An attribute value as text, as names have always been shown here: a character string
 * decoded (der.ts stringValue), any other primitive value as `#` and the hex of its
 * content, a constructed value, NULL, an OID or a time as the empty string.
 */
function attributeValue(value: DerElement): string {
  if (value.constructed) return '';
  if (value.tagClass === TAG_CLASS_UNIVERSAL) {
    if (value.tagNumber === UTC_TIME || value.tagNumber === GENERALIZED_TIME || value.tagNumber === 5 || value.tagNumber === 6 || value.tagNumber === 13) return '';
    if (UTF8_TEXT_TAGS.has(value.tagNumber)) return stringValue({ ...value, tagNumber: 12 }) ?? '';
    const text = stringValue(value);
    if (text !== undefined) return text;
    // A BIT STRING's hex leaves out its unused-bits octet.
    if (value.tagNumber === 3) return `#${Buffer.from(value.content.subarray(1)).toString('hex')}`;
  }
  return `#${Buffer.from(value.content).toString('hex')}`;
}

/** Attributes in encoded order (least specific first, usually C ... CN). */
export function nameAttributes(name: X509Name): NameAttribute[] {
  return name.attributes.map((a) => ({
    oid: a.oid,
    key: SHORT_NAMES[a.oid] ?? `OID.${a.oid}`,
    value: attributeValue(a.value),
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

export function formatName(name: X509Name): string {
  return formatAttributes(nameAttributes(name));
}

export function commonName(name: X509Name): string | undefined {
  const cns = nameAttributes(name).filter((a) => a.oid === '2.5.4.3');
  return cns[cns.length - 1]?.value;
}
