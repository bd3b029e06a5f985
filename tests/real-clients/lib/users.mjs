// The people the tests sign in as on the mock Clerk's development sign-in page (email + role;
// role '' is "(none)", a user without public_metadata.role).
export const ADMIN = { email: 'admin@example.com', role: 'admin' };
export const PLAIN = { email: 'user@example.com', role: '' };

/** Whether `user` may see generateImage (DESIGN §7: default roles admin, premium, image_generation). */
export function mayGenerateImages(user) {
  return ['admin', 'premium', 'image_generation'].includes(user.role);
}

export function label(user) {
  return user.role || 'plain user';
}
