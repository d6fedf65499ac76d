import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { useAuth } from "../auth";
import { Card, ConfirmDialog, ErrorText, Loading } from "../components/ui";
import { formatTime } from "../format";
import { useI18n } from "../i18n";

type Role = "admin" | "trader" | "viewer";

export default function UsersPage() {
  const { t, locale } = useI18n();
  const { user: me } = useAuth();
  const qc = useQueryClient();
  const q = useQuery({ queryKey: ["users"], queryFn: () => unwrap(api.GET("/api/v1/users")) });
  const update = useMutation({
    mutationFn: ({ id, body }: { id: number; body: { role?: Role; is_active?: boolean } }) =>
      unwrap(api.PATCH("/api/v1/users/{user_id}", { params: { path: { user_id: id } }, body })),
    onSettled: () => qc.invalidateQueries({ queryKey: ["users"] }),
  });
  const remove = useMutation({
    mutationFn: async (id: number) => {
      const { response } = await api.DELETE("/api/v1/users/{user_id}", { params: { path: { user_id: id } } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
    },
    onSettled: () => qc.invalidateQueries({ queryKey: ["users"] }),
  });
  const [deleting, setDeleting] = useState<{ id: number; username: string } | null>(null);
  return (
    <>
      <h1>{t("users")}</h1>
      <ConfirmDialog
        open={deleting !== null}
        message={`${t("delete")}: ${deleting?.username ?? ""}?`}
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          if (deleting) remove.mutate(deleting.id);
          setDeleting(null);
        }}
      />
      <NewUserForm />
      <Card title={t("users")} id="users-title">
        {q.isLoading && <Loading />}
        <ErrorText error={q.error ?? update.error ?? remove.error} />
        <table>
          <thead>
            <tr>
              <th scope="col">{t("username")}</th>
              <th scope="col">{t("role")}</th>
              <th scope="col">{t("active")}</th>
              <th scope="col">{t("created")}</th>
              <th scope="col">{t("delete")}</th>
            </tr>
          </thead>
          <tbody>
            {(q.data ?? []).map((u) => (
              <tr key={u.id} data-testid="user-row">
                <td>{u.username}</td>
                <td>
                  <select aria-label={`${t("role")} ${u.username}`} value={u.role} disabled={u.id === me?.id} onChange={(e) => update.mutate({ id: u.id, body: { role: e.target.value as Role } })}>
                    <option>admin</option>
                    <option>trader</option>
                    <option>viewer</option>
                  </select>
                </td>
                <td>
                  <input type="checkbox" aria-label={`${t("active")} ${u.username}`} checked={u.is_active} disabled={u.id === me?.id} onChange={(e) => update.mutate({ id: u.id, body: { is_active: e.target.checked } })} />
                </td>
                <td>{formatTime(u.created_at, locale)}</td>
                <td>
                  <button type="button" className="danger small" disabled={u.id === me?.id} onClick={() => setDeleting(u)}>
                    {t("delete")}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
    </>
  );
}

function NewUserForm() {
  const { t } = useI18n();
  const qc = useQueryClient();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const m = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/users", { body: { username, password, role } })),
    onSuccess: () => {
      setUsername("");
      setPassword("");
      void qc.invalidateQueries({ queryKey: ["users"] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    m.mutate();
  };
  return (
    <Card title={t("newUser")} id="new-user-title">
      <form onSubmit={submit} className="form-grid">
        <div className="field">
          <label htmlFor="nu-name">{t("username")}</label>
          <input id="nu-name" value={username} onChange={(e) => setUsername(e.target.value)} required minLength={3} pattern="[A-Za-z0-9_.\-]+" />
        </div>
        <div className="field">
          <label htmlFor="nu-pass">{t("password")}</label>
          <input id="nu-pass" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} required minLength={8} />
        </div>
        <div className="field">
          <label htmlFor="nu-role">{t("role")}</label>
          <select id="nu-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            <option>viewer</option>
            <option>trader</option>
            <option>admin</option>
          </select>
        </div>
        <div className="field">
          <button type="submit" className="primary" disabled={m.isPending}>
            {t("create")}
          </button>
        </div>
        <ErrorText error={m.error} />
      </form>
    </Card>
  );
}
