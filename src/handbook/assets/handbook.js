(function () {
  'use strict';
  var root = document.documentElement;
  function stored(key) { try { return localStorage.getItem(key); } catch (e) { return null; } }
  function store(key, value) { try { localStorage.setItem(key, value); } catch (e) { /* a sandboxed viewer */ } }

  // Themes: the system's unless the toggle chose one.
  var themeKey = 'deepdive-handbook-theme';
  var theme = stored(themeKey);
  if (theme === 'light' || theme === 'dark') { root.dataset.theme = theme; }
  document.getElementById('theme').addEventListener('click', function () {
    var dark = root.dataset.theme ? root.dataset.theme === 'dark'
      : window.matchMedia('(prefers-color-scheme: dark)').matches;
    root.dataset.theme = dark ? 'light' : 'dark';
    store(themeKey, root.dataset.theme);
  });

  // Search: a section stays visible when it contains every word typed.
  var sections = Array.prototype.slice.call(document.querySelectorAll('main > section'));
  var texts = sections.map(function (s) { return s.textContent.toLowerCase(); });
  var entries = {};
  document.querySelectorAll('#toc li > a').forEach(function (a) {
    entries[decodeURIComponent(a.getAttribute('href').slice(1))] = a.parentElement;
  });
  var box = document.getElementById('search');
  var count = document.getElementById('search-count');
  function filter() {
    var words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    sections.forEach(function (section, i) {
      var hit = words.every(function (w) { return texts[i].indexOf(w) !== -1; });
      section.hidden = !hit;
      if (entries[section.id]) { entries[section.id].hidden = !hit; }
      if (hit) { shown += 1; }
    });
    count.textContent = words.length ? shown + ' of ' + sections.length + ' sections match' : '';
  }
  box.addEventListener('input', filter);
  document.addEventListener('keydown', function (e) {
    if (e.key === '/' && document.activeElement !== box) { e.preventDefault(); box.focus(); }
    if (e.key === 'Escape' && document.activeElement === box) { box.value = ''; filter(); }
  });

  // Ticked checklist items are remembered in this browser, by their text.
  var ticksKey = 'deepdive-handbook-ticks:' + document.title;
  var ticks = {};
  try { ticks = JSON.parse(stored(ticksKey) || '{}') || {}; } catch (e) { ticks = {}; }
  document.querySelectorAll('main li > input[type=checkbox]').forEach(function (tick) {
    var key = tick.parentElement.textContent.trim();
    if (Object.prototype.hasOwnProperty.call(ticks, key)) { tick.checked = ticks[key]; }
    tick.addEventListener('change', function () {
      ticks[key] = tick.checked;
      store(ticksKey, JSON.stringify(ticks));
    });
  });
})();
