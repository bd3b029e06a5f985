// How a test chooses who signs in at the mock Clerk (tests/mock-clerk, with the page of the
// development sign-in it builds on, local/dev). Kept in one place so the tests follow the real
// interface: the development sign-in page (pick an email and a role).

/** The development sign-in form on `url`, filled for `user` ({ email, role }). */
export function signInForm(forms, user, url, html) {
  const form = forms.find((f) => f.inputs.some((i) => i.name === 'email') || f.selects.some((s) => s.name === 'email'));
  if (!form) throw new Error(`no sign-in form on ${url}: ${html.slice(0, 400)}`);
  const overrides = { email: user.email };
  if (form.inputs.some((i) => i.name === 'role') || form.selects.some((s) => s.name === 'role')) {
    overrides.role = user.role;
  }
  const button = form.buttons[0];
  const data = new URLSearchParams();
  for (const input of form.inputs) {
    const type = (input.type ?? 'text').toLowerCase();
    if (!input.name || input.name in overrides || ['submit', 'button'].includes(type)) continue;
    if ((type === 'checkbox' || type === 'radio') && !('checked' in input)) continue;
    data.append(input.name, input.value ?? '');
  }
  for (const [k, v] of Object.entries(overrides)) data.append(k, v);
  if (button?.name) data.append(button.name, button.value ?? '');
  return { form, data };
}

/** The same, in a real browser: fill the development sign-in page on `page` and submit it. */
export async function signInWithBrowser(page, user) {
  const email = page.locator('[name="email"]').first();
  if ((await email.evaluate((el) => el.tagName)) === 'SELECT') await email.selectOption(user.email);
  else await email.fill(user.email);
  const role = page.locator('[name="role"]').first();
  if ((await role.count()) > 0) {
    if ((await role.evaluate((el) => el.tagName)) === 'SELECT') await role.selectOption(user.role);
    else await role.fill(user.role);
  }
  await page.locator('form').filter({ has: email }).locator('button, input[type="submit"]').first().click();
}
