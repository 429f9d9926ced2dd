/** Minimal valid CDN entries for config tests (the addresses are never dialled: config is only parsed). */
export const VIMS_ENTRY = {
  id: 'vims-main',
  provider: 'vims',
  baseUrl: 'http://127.0.0.1:1',
  token: 'sk_live_x',
  cdnId: 101,
};

export const QUANTIL_ENTRY = {
  id: 'quantil-main',
  provider: 'quantil',
  baseUrl: 'http://127.0.0.1:1',
  user: 'demo',
  apiKey: 'demo-key',
};
