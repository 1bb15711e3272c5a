// Loaded by Miniflare itself (wrangler dev, unstable_startWorker) as an external plugin, so it is
// plain JavaScript: Miniflare imports it with Node's own loader.
//
// The binding it provides is a service binding to a workerd `network` service. workerd resolves the
// host name itself and connects only to addresses the allow list admits and the deny list does not,
// for every request (each redirect hop is a request of its own), so a public name that resolves to a
// loopback, private or link-local address is refused as if it did not resolve.

/** Blocks no image host may resolve to, beyond what workerd's `public` excludes already. */
export const DENY = [
  'local',
  'private',
  '0.0.0.0/8',
  '100.64.0.0/10',
  '169.254.0.0/16',
  '192.0.0.0/24',
  '198.18.0.0/15',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '::/128',
  '::1/128',
  '::ffff:0:0/96',
  '64:ff9b::/96',
  'fc00::/7',
  'fe80::/10',
  'ff00::/8',
];

/** The workerd network service all these bindings share. */
const SERVICE = 'coyo-local-egress:public';

/** @type {import('./index.d.ts').EgressPlugin} */
const PUBLIC_EGRESS = {
  // Miniflare hands an external plugin the unsafe bindings that name it, unparsed.
  options: undefined,
  getBindings(bindings) {
    return (bindings ?? []).map(({ name }) => ({ name, service: { name: SERVICE } }));
  },
  getNodeBindings() {
    return {};
  },
  getServices({ options }) {
    if (options === undefined || options.length === 0) return [];
    return [{ name: SERVICE, network: { allow: ['public'], deny: DENY, tlsOptions: { trustBrowserCas: true } } }];
  },
};

/** The plugins this package provides, by the name an unsafe binding's `dev.plugin.name` gives. */
export const plugins = { PUBLIC_EGRESS };
