import { z } from 'zod';
import { documentRoute } from '../openapi';

// Mounted by hand in createApp (serveWebApp: files and the SPA fallback), documented here.
documentRoute({
  method: 'get',
  path: '/app',
  absolute: true,
  public: true,
  tags: ['web app'],
  summary: 'The reviewer, expert and operator web app',
  description:
    'The single-page app built by `npm run build:app` (run by `npm start`, `npm run build` and the test setup). ' +
    'Files of the bundle are served under /app/; any other /app/* path answers the app’s index.html (the app routes itself). ' +
    'The app signs in with a pasted bearer token (or, in `anno dev`, POST /api/v1/dev/sign-in) kept in sessionStorage, and calls only this API.',
  responses: {
    200: { description: 'The app’s HTML page', schema: z.string(), contentType: 'text/html' },
  },
});
