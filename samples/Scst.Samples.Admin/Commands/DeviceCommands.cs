// Licensed under the Apache License, Version 2.0.

using System.CommandLine;

namespace Scst.Samples.Admin.Commands;

/// <summary><c>device add|remove</c>: a handler's <c>add_device</c> and <c>del_device</c> (scstadmin's -open_dev, -close_dev).</summary>
internal static class DeviceCommands
{
    public static Command Create() => CommandExtensions.Group("device", "Create or remove devices", Add(), Remove());

    private static Command Add()
    {
        var name = new Argument<string>("name") { Description = "The device's name" };
        var handler = new Option<string>("--handler") { Description = "Its handler (vdisk_fileio, vdisk_blockio, vdisk_nullio, vcdrom...)", HelpName = "handler", Required = true };
        Option<string?> attributes = AdminOptions.Attributes();
        return new Command("add", "Create a device: handlers/HANDLER/mgmt 'add_device NAME k=v; ...'") { name, handler, attributes }
            .WithAdminAction(async (parse, admin, ct) =>
            {
                string device = parse.GetRequiredValue(name);
                string handlerName = parse.GetRequiredValue(handler);
                await admin.WriteAsync($"handlers/{handlerName}/mgmt", AdminOptions.WithAttributes($"add_device {device}", parse.GetValue(attributes)), $"cannot add device {device}", ct);
                Console.WriteLine($"Device {device} added (handler {handlerName}).");
            });
    }

    private static Command Remove()
    {
        var name = new Argument<string>("name") { Description = "The device's name" };
        return new Command("remove", "Remove a device (its handler is read from devices/NAME/handler): handlers/HANDLER/mgmt 'del_device NAME'") { name }
            .WithAdminAction(async (parse, admin, ct) =>
            {
                string device = parse.GetRequiredValue(name);
                string what = $"cannot remove device {device}";
                var read = await admin.TryReadAsync($"devices/{device}/handler", ct);
                if (read.Status == -2)
                {
                    throw new AdminException($"{what}: device {device} does not exist (ENOENT)");
                }

                string handler = AdminClient.ValueOf(AdminClient.Checked(read, what).Message);
                await admin.WriteAsync($"handlers/{handler}/mgmt", $"del_device {device}", what, ct);
                Console.WriteLine($"Device {device} removed (handler {handler}).");
            });
    }
}
