"use strict";
// Ramai's mobile storefront: products, a product sheet, Niaga's checkout SDK, an Orders tab.
const CONFIG = window.RAMAI_CONFIG || {};
const USER = "u-7731";
const view = document.getElementById("view");
const rp = (n) => "Rp " + n.toLocaleString("id-ID");
const PRODUCTS = [
  {sku: "BTK-01", name: "Batik Tulis Solo", price: 245000},
  {sku: "KPI-02", name: "Kopi Toraja 200 g", price: 78000},
];

function home() {
  view.innerHTML = '<div class="tiles">' + PRODUCTS.map((p) =>
    `<div class="tile" data-testid="product-tile" data-sku="${p.sku}"><b>${p.name}</b>` +
    `<p data-testid="tile-price">${rp(p.price)}</p></div>`).join("") + "</div>" +
    '<div id="checkout-root"></div>';
  view.querySelectorAll("[data-testid=product-tile]").forEach((tile) =>
    tile.addEventListener("click", () => openSheet(tile.dataset.sku)));
}

function openSheet(sku) {
  const p = PRODUCTS.find((x) => x.sku === sku);
  closeSheet();
  const sheet = document.createElement("div");
  sheet.className = "sheet";
  sheet.dataset.testid = "product-sheet";
  sheet.innerHTML = `<h2>${p.name}</h2><p>${rp(p.price)}</p>` +
    '<button data-testid="sheet-buy">Beli sekarang</button>';
  sheet.querySelector("button").addEventListener("click", () => {
    closeSheet();
    const mount = () =>
      window.Niaga.checkout({sku: sku, buyer: USER, mount: document.getElementById("checkout-root")});
    if (CONFIG.layoutShift) flashSale(mount); else mount();
  });
  document.body.appendChild(sheet);
}

function closeSheet() {
  document.querySelectorAll("[data-testid=product-sheet]").forEach((s) => s.remove());
}

async function orders() {
  closeSheet();
  view.textContent = "Memuat pesanan…";
  // The orders come from Niaga, the shop system; a stale variant reads Ramai's own cache.
  const url = CONFIG.staleOrders
    ? "https://m.ramai.example/api/orders-cache?buyer=" + USER
    : "https://api.niaga.example/v2/orders?buyer=" + USER;
  const list = await (await fetch(url)).json();
  view.innerHTML = '<div data-testid="orders">' + list.orders.map((o) =>
    `<div class="row" data-testid="order-row" data-order-id="${o.order_id}">${o.order_id} ` +
    `<span data-testid="order-status" data-status="${o.status}">${o.status}</span></div>`
  ).join("") + "</div>";
}

function route() {
  if (location.hash === "#orders") orders(); else home();
}
window.addEventListener("hashchange", route);
document.addEventListener("DOMContentLoaded", route);

// The layout-shift variant: tapping Buy first fetches a flash-sale strip (slow, 700 ms), which
// opens above the products and pushes them down while the buyer waits for the checkout; the
// checkout is mounted only once the page has been painted with the strip.
function flashSale(then) {
  setTimeout(() => {
    document.getElementById("promo").style.height = "45vh";
    requestAnimationFrame(() => requestAnimationFrame(then));
  }, 700);
}
