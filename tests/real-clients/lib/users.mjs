// The people the tests sign in as at the mock Clerk's development sign-in page.
export const ADMIN = { email: 'admin@example.com', role: 'admin' };
export const PLAIN = { email: 'user@example.com', role: 'user' };

/** Whether `user` may see generateImage (DESIGN §7: default roles admin, premium, image_generation). */
export function mayGenerateImages(user) {
  return ['admin', 'premium', 'image_generation'].includes(user.role);
}
