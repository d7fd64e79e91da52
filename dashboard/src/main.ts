// The dashboard's entry: Pinia for state, the router with its role guards, the app shell, and the
// service worker that keeps the shell (never API answers) for offline starts.
import { createApp } from 'vue';
import { createPinia } from 'pinia';
import App from './App.vue';
import { createAppRouter } from './router';
import './styles.css';

const app = createApp(App);
const pinia = createPinia();
app.use(pinia);
app.use(createAppRouter());
app.mount('#app');

// Production builds only: the dev server's module graph must not be cached.
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js').catch(() => {
      // An unregistered worker costs only the offline start; nothing to tell the operator.
    });
  });
}
