/** An unsafe binding as Miniflare hands it to an external plugin. */
export interface EgressBinding {
  name: string;
  type: string;
  options: Record<string, unknown>;
}

/** The slice of Miniflare's plugin interface this plugin implements. */
export interface EgressPlugin {
  options: undefined;
  getBindings(bindings: readonly EgressBinding[] | undefined): { name: string; service: { name: string } }[];
  getNodeBindings(): Record<string, never>;
  getServices(args: { options: readonly EgressBinding[] | undefined }): {
    name: string;
    network: { allow: string[]; deny: string[]; tlsOptions: { trustBrowserCas: boolean } };
  }[];
}

/** Address blocks denied on top of workerd's `public`. */
export declare const DENY: readonly string[];

/** The plugins this package provides. */
export declare const plugins: { PUBLIC_EGRESS: EgressPlugin };
