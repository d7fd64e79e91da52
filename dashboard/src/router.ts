// Pages and who may open them. A route names the permission it needs (the same names as the API's
// table); the guard sends a person without a session to sign-in and one without the permission to
// the fleet page with a notice. The API refuses such requests anyway: this only keeps the UI honest.
import { createRouter, createWebHistory, type RouteRecordRaw, type Router, type RouterHistory } from 'vue-router';
import { hasPermission, type Permission } from './auth/permissions';
import { useAuthStore } from './stores/auth';

declare module 'vue-router' {
  interface RouteMeta {
    /** Reachable without a session (sign-in). */
    public?: boolean;
    permission?: Permission;
    title?: string;
  }
}

export const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/fleet' },
  { path: '/sign-in', name: 'sign-in', component: () => import('./views/signin/SignInView.vue'), meta: { public: true, title: 'Sign in' } },
  { path: '/fleet', name: 'fleet', component: () => import('./views/fleet/FleetView.vue'), meta: { permission: 'sites:read', title: 'Fleet' } },
  { path: '/sites/:id', name: 'site', component: () => import('./views/site/SiteView.vue'), props: true, meta: { permission: 'telemetry:read', title: 'Site' } },
  { path: '/alarms', name: 'alarms', component: () => import('./views/alarms/AlarmsView.vue'), meta: { permission: 'alarms:read', title: 'Alarms' } },
  { path: '/sites/:id/insights', name: 'site-insights', component: () => import('./views/insights/InsightsView.vue'), props: true, meta: { permission: 'telemetry:read', title: 'Insights' } },
  { path: '/insights', name: 'insights', component: () => import('./views/insights/InsightsView.vue'), meta: { permission: 'telemetry:read', title: 'Insights' } },
  { path: '/schedule', name: 'schedule', component: () => import('./views/schedule/ScheduleView.vue'), meta: { permission: 'plans:read', title: 'Schedule' } },
  { path: '/sites/:id/reports/:month?', name: 'site-report', component: () => import('./views/reports/ReportView.vue'), props: true, meta: { permission: 'financial:read', title: 'Monthly report' } },
  { path: '/settings', name: 'settings', component: () => import('./views/settings/SettingsView.vue'), meta: { permission: 'settings:read', title: 'Strategy settings' } },
  { path: '/financial', name: 'financial', component: () => import('./views/financial/FinancialView.vue'), meta: { permission: 'financial:read', title: 'Financial' } },
  { path: '/admin', name: 'admin', component: () => import('./views/admin/AdminView.vue'), meta: { permission: 'users:read', title: 'Administration' } },
  { path: '/ota', name: 'ota', component: () => import('./views/ota/OtaView.vue'), meta: { permission: 'ota:deploy', title: 'OTA roll-outs' } },
  { path: '/account/notifications', name: 'notifications', component: () => import('./views/notifications/NotificationsView.vue'), meta: { title: 'Notifications' } },
  { path: '/account', name: 'account', component: () => import('./views/account/AccountView.vue'), meta: { title: 'Account' } },
  { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('./views/NotFoundView.vue'), meta: { public: true, title: 'Not found' } },
];

export function createAppRouter(history: RouterHistory = createWebHistory('/')): Router {
  const router = createRouter({ history, routes });
  router.beforeEach(async (to) => {
    const auth = useAuthStore();
    await auth.restore();
    if (to.meta.public) {
      if (to.name === 'sign-in' && auth.signedIn) return { name: 'fleet' };
      return true;
    }
    if (!auth.signedIn) return { name: 'sign-in', query: to.fullPath !== '/fleet' ? { next: to.fullPath } : {} };
    if (to.meta.permission && !hasPermission(auth.role, to.meta.permission)) {
      auth.notice = `Your role (${auth.role ?? 'none'}) may not open ${to.meta.title ?? to.path}.`;
      return { name: 'fleet' };
    }
    return true;
  });
  router.afterEach((to) => {
    if (typeof document !== 'undefined') document.title = `${to.meta.title ? `${to.meta.title} · ` : ''}LiFePO4 EMS`;
  });
  return router;
}
