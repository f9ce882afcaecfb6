// oidc-provider 9 ships no type declarations (and @types/oidc-provider is no dependency here):
// tsc sees the module as `any`, as Deno does, and provider.ts casts it to the typed subset in
// oidc-types.ts that the simulator actually uses.
declare module "oidc-provider";
