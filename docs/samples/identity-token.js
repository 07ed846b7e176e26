// Signs a Confidant identity token for a signed-in customer (docs/security.md, "Verified
// visitors"), with Node's built-in crypto. Run it on your site's backend, once per page view, and
// put the result in the widget's `data-identity-token` attribute.
//
//   node identity-token.js WIDGET_KEY SECRET USER_ID [EMAIL] [NAME]
import { createHmac, randomBytes } from 'node:crypto';

export function identityToken(widgetKey, secret, userId, { email, name, lifetime = 600 } = {}) {
  const payload = { site: widgetKey, sub: userId, exp: Math.floor(Date.now() / 1000) + lifetime, nonce: randomBytes(24).toString('base64url') };
  if (email) payload.email = email;
  if (name) payload.name = name;
  const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  const signature = createHmac('sha256', secret).update(body).digest('base64url');
  return `${body}.${signature}`;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop())) {
  const [widgetKey, secret, userId, email, name] = process.argv.slice(2);
  if (!userId) {
    console.error('usage: node identity-token.js WIDGET_KEY SECRET USER_ID [EMAIL] [NAME]');
    process.exit(1);
  }
  console.log(identityToken(widgetKey, secret, userId, { email, name }));
}
