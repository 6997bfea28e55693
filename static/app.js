// Small enhancements only: every page works without this file.
// Ask before removing a tag, so that a stray tap on a phone does not lose it.
document.addEventListener('submit', (event) => {
  const form = event.target;
  if (form.action.endsWith('/tags/remove') && !window.confirm(form.querySelector('button').getAttribute('aria-label') + '?')) {
    event.preventDefault();
  }
});
