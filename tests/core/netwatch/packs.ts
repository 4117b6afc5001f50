/** Test packs with network indicators (validated by the real schema). */
import { PackSchema, type Pack } from '../../../src/core/pack/schema.js';
import { testPack } from '../../helpers/test-pack.js';

export interface NetSpec {
  domains?: string[];
  ips?: string[];
  urls?: string[];
  id?: string;
}

export function netPack(spec: NetSpec): Pack {
  return PackSchema.parse(
    testPack({
      ...(spec.id ? { id: spec.id } : {}),
      network: {
        domains: (spec.domains ?? []).map((domain) => ({ domain, description: 'test C2', sources: ['advisory'] })),
        ips: (spec.ips ?? []).map((ip) => ({ ip, sources: ['advisory'] })),
        urls: (spec.urls ?? []).map((url) => ({ url, sources: ['advisory'] })),
        advice: 'isolate',
      },
    }),
  );
}

/** The 3CX pack's C2 domains used by the fixtures, plus its URL indicators. */
export const C2 = {
  domains: ['akamaicontainer.com', 'akamaitechcloudservices.com', 'azureonlinestorage.com', 'glcloudservice.com', 'journalide.org', 'www.journalide.org', 'msstorageboxes.com', 'msstorageazure.com', 'officeaddons.com', 'pbxphonenetwork.com', 'pbxsources.com', 'sbmsa.wiki', 'sourceslabs.com', 'dunamistrd.com'],
  urls: ['https://raw.githubusercontent.com/IconStorages/images/main/', 'https://github.com/IconStorages/images'],
};
