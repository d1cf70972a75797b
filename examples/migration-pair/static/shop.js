// Pasar Kita storefront: HTML over the wire. The checkout and the confirmation are HTML
// fragments fetched from the checkout origin (the shop itself before the migration, the
// commerce back end after it) and swapped into the page; the form posts back to that origin.
(() => {
  "use strict";
  const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
  const origin = meta("checkout-origin");
  const slot = document.getElementById("checkout");

  const swap = async (response) => {
    slot.innerHTML = await response.text();
    const form = slot.querySelector("form[data-post]");
    if (form) form.addEventListener("submit", pay);
  };
  const openCheckout = async () => {
    await swap(await fetch(`${origin}/checkout/form?sku=TEH-100`, {credentials: "include"}));
  };
  const pay = async (event) => {
    event.preventDefault();
    const form = event.target;
    const body = new URLSearchParams(new FormData(form));
    await swap(await fetch(form.dataset.post, {method: "POST", body, credentials: "include"}));
  };

  document.querySelector("[data-testid=buy]").addEventListener("click", () => {
    const start = meta("checkout-start");
    // A hand-off that bounces the whole page through another site first (to set a session).
    if (start) location.assign(start);
    else openCheckout();
  });
  if (new URLSearchParams(location.search).has("checkout")) openCheckout();
})();
